"""Column encryption at rest (GB/T 35273-2020 §6.3): AES-256-GCM with a key id on every value,
envelope keys behind a KMS-shaped interface, and HMAC blind indexes for exact lookups.

A stored value is ``<key id>$<base64(nonce ‖ ciphertext ‖ tag)>``; the column's name is the
AEAD associated data, so a ciphertext copied into another column does not decrypt. Data keys
are kept *wrapped* (AES-GCM under a master key) in a key file; the master key comes from the
environment (``ONEWINDOW_MASTER_KEY``) — the shape of a cloud KMS, where the master key never
leaves the KMS and only ``unwrap`` is called. Rotation adds a data key and makes it active:
old values still decrypt with their own key id while a background job re-encrypts them.

Blind index: HMAC-SHA256 under a separate per-column key (derived from the index key, never
rotated with the data keys), truncated to 16 bytes. It reveals which rows hold equal values
and nothing else.

The keyring is process-wide because SQLAlchemy type decorators have no request context; it is
built on first use from ``Settings()`` (never at import time) or installed with ``configure``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from onewindow.kit.errors import ConfigurationError, OneWindowError
from onewindow.kit.settings import Settings

KEY_FILE_FORMAT = "onewindow-keys/1"
NONCE_BYTES = 12
INDEX_BYTES = 16
_SEP = "$"


class DecryptionFailed(OneWindowError):
    code = "crypto.decryption_failed"
    status = 500


class KeyProvider(Protocol):
    """What the keyring needs from a KMS: which key encrypts, and the plain data keys."""

    def active_key_id(self) -> str: ...

    def data_key(self, key_id: str) -> bytes: ...

    def index_key(self) -> bytes: ...

    def key_ids(self) -> list[str]: ...


def _hkdf(secret: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(secret)


@dataclass
class DerivedKeyProvider:
    """Development and tests only: keys derived from the platform secret."""

    secret: str

    def active_key_id(self) -> str:
        return "dev"

    def data_key(self, key_id: str) -> bytes:
        return _hkdf(self.secret.encode(), f"onewindow data key {key_id}")

    def index_key(self) -> bytes:
        return _hkdf(self.secret.encode(), "onewindow blind index")

    def key_ids(self) -> list[str]:
        return ["dev"]


def _wrap(master: bytes, key_id: str, key: bytes) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(master).encrypt(nonce, key, key_id.encode())).decode()


def _unwrap(master: bytes, key_id: str, wrapped: str) -> bytes:
    raw = base64.b64decode(wrapped)
    try:
        return AESGCM(master).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode())
    except InvalidTag as exc:
        raise ConfigurationError(
            f"Data key {key_id} does not unwrap with this master key",
            message_zh=f"主密钥无法解开数据密钥 {key_id}",
            code="crypto.bad_master_key",
        ) from exc


@dataclass
class EnvelopeKeyProvider:
    """Data keys wrapped under a master key (the local stand-in for a KMS).

    ``wrapped`` maps key id → wrapped data key; ``index`` is the wrapped blind-index key.
    """

    master: bytes
    active: str
    wrapped: dict[str, str]
    index: str
    _plain: dict[str, bytes] = field(default_factory=dict, repr=False)

    def active_key_id(self) -> str:
        return self.active

    def data_key(self, key_id: str) -> bytes:
        if key_id not in self._plain:
            if key_id not in self.wrapped:
                raise DecryptionFailed(
                    f"Unknown key id {key_id!r}", message_zh=f"未知密钥 {key_id}"
                )
            self._plain[key_id] = _unwrap(self.master, key_id, self.wrapped[key_id])
        return self._plain[key_id]

    def index_key(self) -> bytes:
        return _unwrap(self.master, "index", self.index)

    def key_ids(self) -> list[str]:
        return sorted(self.wrapped)

    @classmethod
    def load(cls, path: Path, master: bytes) -> EnvelopeKeyProvider:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != KEY_FILE_FORMAT:
            raise ConfigurationError(
                f"{path} is not a onewindow key file", message_zh=f"{path} 不是密钥文件"
            )
        return cls(master, doc["active"], dict(doc["keys"]), doc["index_key"])

    def save(self, path: Path) -> None:
        doc = {
            "format": KEY_FILE_FORMAT,
            "active": self.active,
            "keys": self.wrapped,
            "index_key": self.index,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        os.chmod(tmp, 0o600)
        tmp.replace(path)

    @classmethod
    def create(cls, master: bytes, key_id: str = "k1") -> EnvelopeKeyProvider:
        return cls(
            master,
            key_id,
            {key_id: _wrap(master, key_id, AESGCM.generate_key(256))},
            _wrap(master, "index", secrets.token_bytes(32)),
        )

    def rotate(self, key_id: str | None = None) -> str:
        """Add a fresh data key and make it the one that encrypts; returns its id."""
        key_id = key_id or f"k{len(self.wrapped) + 1}"
        if key_id in self.wrapped or _SEP in key_id:
            raise ConfigurationError(f"Key id {key_id!r} is taken or invalid")
        self.wrapped[key_id] = _wrap(self.master, key_id, AESGCM.generate_key(256))
        self.active = key_id
        return key_id


def master_key_from(value: str) -> bytes:
    try:
        key = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ConfigurationError(
            "ONEWINDOW_MASTER_KEY must be base64", message_zh="主密钥须为 base64"
        ) from exc
    if len(key) != 32:
        raise ConfigurationError(
            "ONEWINDOW_MASTER_KEY must be 32 bytes (base64)", message_zh="主密钥须为 32 字节"
        )
    return key


def provider_for(settings: Settings) -> KeyProvider:
    """The key provider the settings describe: a key file and master key, or (outside
    production only) keys derived from the platform secret."""
    if settings.key_file is not None and settings.master_key:
        return EnvelopeKeyProvider.load(settings.key_file, master_key_from(settings.master_key))
    if settings.env == "production":
        raise ConfigurationError(
            "Set ONEWINDOW_KEY_FILE and ONEWINDOW_MASTER_KEY for encryption at rest",
            message_zh="生产环境须设置 ONEWINDOW_KEY_FILE 与 ONEWINDOW_MASTER_KEY",
            code="configuration.no_keys",
        )
    return DerivedKeyProvider(settings.secret_key)


class Keyring:
    """Encrypts and decrypts column values and computes blind indexes."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider
        self._aead: dict[str, AESGCM] = {}
        self._index: dict[str, bytes] = {}
        self._index_root = provider.index_key()

    @property
    def active_key_id(self) -> str:
        return self.provider.active_key_id()

    def _cipher(self, key_id: str) -> AESGCM:
        aead = self._aead.get(key_id)
        if aead is None:
            aead = self._aead[key_id] = AESGCM(self.provider.data_key(key_id))
        return aead

    def encrypt(self, plaintext: str, column: str, *, key_id: str | None = None) -> str:
        key_id = key_id or self.active_key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._cipher(key_id).encrypt(nonce, plaintext.encode(), column.encode())
        return key_id + _SEP + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, stored: str, column: str) -> str:
        key_id, sep, body = stored.partition(_SEP)
        if not sep:
            raise DecryptionFailed(
                f"{column}: value is not encrypted", message_zh=f"{column} 的值未加密"
            )
        raw = base64.b64decode(body)
        try:
            plain = self._cipher(key_id).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()
            )
        except InvalidTag as exc:
            raise DecryptionFailed(
                f"{column}: ciphertext was altered or belongs elsewhere",
                message_zh=f"{column} 的密文被篡改或不属于此列",
            ) from exc
        return plain.decode()

    @staticmethod
    def key_id_of(stored: str) -> str:
        return stored.partition(_SEP)[0]

    def blind_index(self, column: str, value: str) -> str:
        """Keyed digest for exact lookups (hex, 32 characters); one key per column."""
        key = self._index.get(column)
        if key is None:
            key = self._index[column] = _hkdf(self._index_root, f"blind index {column}")
        return hmac.new(key, value.encode(), hashlib.sha256).digest()[:INDEX_BYTES].hex()

    def pseudonym_key(self, purpose: str) -> bytes:
        return _hkdf(self._index_root, f"pseudonym {purpose}")


_lock = threading.Lock()
_keyring: Keyring | None = None


def configure(settings: Settings) -> Keyring:
    """Install the keyring the settings describe (entrypoints call this at start-up)."""
    global _keyring
    with _lock:
        _keyring = Keyring(provider_for(settings))
        return _keyring


def keyring() -> Keyring:
    global _keyring
    if _keyring is None:
        with _lock:
            if _keyring is None:
                _keyring = Keyring(provider_for(Settings()))
    return _keyring


@contextmanager
def using(ring: Keyring) -> Iterator[Keyring]:
    """Install ``ring`` for the duration (tests of rotation)."""
    global _keyring
    before = _keyring
    _keyring = ring
    try:
        yield ring
    finally:
        _keyring = before


def blind_index(column: str, value: str) -> str:
    return keyring().blind_index(column, value)


class EncryptedText(TypeDecorator[str]):
    """A text column stored AES-256-GCM encrypted; Python sees the plain value."""

    impl = Text
    cache_ok = True

    def __init__(self, column: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(value, self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().decrypt(value, self.column)


SEALED_KEY = "$sealed"


class SealedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object whose values holding a citizen ID or a mobile number are stored sealed.

    Each such top-level string value is stored as ``{"$sealed": <AES-GCM ciphertext>}``; the
    other values stay plain JSON, so reports and JSON queries on them work as before. Python
    sees the plain object. Used for application forms, whose ID and phone fields repeat the
    applicant's (GB/T 35273-2020 §6.3: personal identifiers encrypted at rest).
    """

    impl = JSON
    cache_ok = True

    def __init__(self, column: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.column = column

    def process_bind_param(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        personal = sealed_values(value)
        if not personal:
            return value
        ring = keyring()
        return {
            k: {SEALED_KEY: ring.encrypt(v, self.column)} if k in personal else v
            for k, v in value.items()
        }

    def process_result_value(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        ring = keyring()
        return {
            k: ring.decrypt(v[SEALED_KEY], self.column)
            if isinstance(v, dict) and set(v) == {SEALED_KEY}
            else v
            for k, v in value.items()
        }


def sealed_values(value: dict[str, Any]) -> set[str]:
    """The keys of ``value`` that ``SealedJSON`` stores sealed."""
    from onewindow.security.masking import contains_identifier

    return {k for k, v in value.items() if isinstance(v, str) and contains_identifier(v)}
