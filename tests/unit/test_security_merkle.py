"""RFC 9162 hashing and proofs: the code under test against the transparency-dev vectors and
against an independent reference written from the RFC (tests/rfc9162.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onewindow.security import merkle
from tests import rfc9162
from tests.conftest import TEST_DATA

VECTORS = TEST_DATA / "merkle-vectors"


def _b(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _cases(kind: str) -> list[Path]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files, f"no {kind} vectors under {VECTORS}"
    return files


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vectors(path: Path) -> None:
    d = json.loads(path.read_text())
    args = (d["leafIdx"], d["treeSize"], _b(d["leafHash"]), [_b(p) for p in d["proof"] or []])
    try:
        merkle.verify_inclusion(*args, _b(d["root"]))
        ours_ok = True
    except merkle.ProofError:
        ours_ok = False
    assert ours_ok is not d["wantErr"], d["desc"]
    assert rfc9162.verify_inclusion(*args, _b(d["root"])) is not d["wantErr"], d["desc"]


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vectors(path: Path) -> None:
    d = json.loads(path.read_text())
    args = (
        d["size1"],
        d["size2"],
        _b(d["root1"]),
        _b(d["root2"]),
        [_b(p) for p in d["proof"] or []],
    )
    try:
        merkle.verify_consistency(*args)
        ours_ok = True
    except merkle.ProofError:
        ours_ok = False
    assert ours_ok is not d["wantErr"], d["desc"]
    assert rfc9162.verify_consistency(*args) is not d["wantErr"], d["desc"]


def _entries(n: int) -> list[bytes]:
    return [f'{{"i":{i}}}'.encode() for i in range(n)]


def test_hashing_matches_the_definition() -> None:
    assert merkle.leaf_hash(b"x") == rfc9162.h(b"\x00x")
    for n in range(0, 40):
        d = _entries(n)
        assert merkle.root_of(d) == rfc9162.mth(d)


def _range_hash(d: list[bytes], a: int, b: int) -> bytes:
    """A subtree hash the way the ledger computes it: a fold of perfect blocks."""
    leaves = [merkle.leaf_hash(e) for e in d]
    hashes = []
    for level, index in merkle.perfect_blocks(a, b):
        size = 1 << level
        hashes.append(rfc9162.mth(d[index * size : (index + 1) * size]))
        assert (level > 0) or hashes[-1] == leaves[index]
    return merkle.fold(hashes)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 130), data=st.data())
def test_proofs_equal_the_rfc_definitions(n: int, data: st.DataObject) -> None:
    d = _entries(n)
    m = data.draw(st.integers(0, n - 1))
    ours = [_range_hash(d, a, b) for a, b in merkle.inclusion_ranges(m, n)]
    assert ours == rfc9162.path(m, d)
    assert rfc9162.verify_inclusion(m, n, merkle.leaf_hash(d[m]), ours, rfc9162.mth(d))
    old = data.draw(st.integers(1, n))
    cons = [_range_hash(d, a, b) for a, b in merkle.consistency_ranges(old, n)]
    assert cons == rfc9162.proof(old, d)
    assert rfc9162.verify_consistency(old, n, rfc9162.mth(d[:old]), rfc9162.mth(d), cons)


def test_compact_range_stores_every_perfect_node_once() -> None:
    made: dict[tuple[int, int], bytes] = {}
    cr = merkle.CompactRange()
    d = _entries(37)
    for e in d:
        cr.append(merkle.leaf_hash(e), lambda lv, i, h: made.setdefault((lv, i), h))
    assert cr.root() == rfc9162.mth(d)
    assert len(cr.hashes) == bin(37).count("1")
    for (level, index), h in made.items():
        size = 1 << level
        assert h == rfc9162.mth(d[index * size : (index + 1) * size])
    assert len(made) == 37 - bin(37).count("1")


def test_a_changed_proof_fails() -> None:
    d = _entries(21)
    root = merkle.root_of(d)
    path = [_range_hash(d, a, b) for a, b in merkle.inclusion_ranges(5, 21)]
    merkle.verify_inclusion(5, 21, merkle.leaf_hash(d[5]), path, root)
    bad = [path[0][:-1] + bytes([path[0][-1] ^ 1]), *path[1:]]
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(5, 21, merkle.leaf_hash(d[5]), bad, root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(6, 21, merkle.leaf_hash(d[5]), path, root)
