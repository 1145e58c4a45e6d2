"""Column encryption: AES-256-GCM round trips, key ids, tamper detection, envelope key file,
rotation, blind index."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from onewindow.kit.errors import ConfigurationError
from onewindow.kit.settings import Settings
from onewindow.security import crypto


def _ring(tmp_path: Path) -> tuple[crypto.Keyring, crypto.EnvelopeKeyProvider, Path]:
    master = secrets.token_bytes(32)
    provider = crypto.EnvelopeKeyProvider.create(master)
    path = tmp_path / "keys.json"
    provider.save(path)
    loaded = crypto.EnvelopeKeyProvider.load(path, master)
    return crypto.Keyring(loaded), loaded, path


def test_round_trip_with_key_id_and_column_binding(tmp_path: Path) -> None:
    ring, _, path = _ring(tmp_path)
    stored = ring.encrypt("11010519491231002X", "applicants.id_number")
    assert stored.startswith("k1$")
    assert "11010519491231002X" not in stored
    assert ring.encrypt("11010519491231002X", "applicants.id_number") != stored  # random nonce
    assert ring.decrypt(stored, "applicants.id_number") == "11010519491231002X"
    with pytest.raises(crypto.DecryptionFailed):
        ring.decrypt(stored, "applicants.phone")  # moved to another column
    raw = bytearray(base64.b64decode(stored[3:]))
    raw[-1] ^= 1
    with pytest.raises(crypto.DecryptionFailed):
        ring.decrypt("k1$" + base64.b64encode(bytes(raw)).decode(), "applicants.id_number")
    assert "k1" not in path.read_text() or "keys" in path.read_text()
    assert len(base64.b64decode(stored[3:])) == 12 + 18 + 16


def test_rotation_keeps_old_values_readable(tmp_path: Path) -> None:
    ring, provider, path = _ring(tmp_path)
    old = ring.encrypt("13812345678", "applicants.phone")
    index = ring.blind_index("applicants.phone", "13812345678")
    assert provider.rotate() == "k2"
    provider.save(path)
    rotated = crypto.Keyring(provider)
    new = rotated.encrypt("13812345678", "applicants.phone")
    assert new.startswith("k2$")
    assert rotated.decrypt(old, "applicants.phone") == "13812345678"
    assert rotated.blind_index("applicants.phone", "13812345678") == index  # not rotated


def test_wrong_master_key_is_refused(tmp_path: Path) -> None:
    _, _, path = _ring(tmp_path)
    provider = crypto.EnvelopeKeyProvider.load(path, secrets.token_bytes(32))
    with pytest.raises(ConfigurationError):
        provider.data_key("k1")


def test_blind_index_is_per_column_and_keyed() -> None:
    a = crypto.Keyring(crypto.DerivedKeyProvider("one"))
    b = crypto.Keyring(crypto.DerivedKeyProvider("two"))
    v = "13812345678"
    assert a.blind_index("applicants.phone", v) == a.blind_index("applicants.phone", v)
    assert len(a.blind_index("applicants.phone", v)) == 32
    assert a.blind_index("applicants.phone", v) != a.blind_index("applicants.id_number", v)
    assert a.blind_index("applicants.phone", v) != b.blind_index("applicants.phone", v)


def test_production_refuses_default_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Settings(env="production", secret_key="x" * 40, data_dir=tmp_path).check()
    with pytest.raises(ConfigurationError):
        crypto.provider_for(Settings(env="production", secret_key="x" * 40))
