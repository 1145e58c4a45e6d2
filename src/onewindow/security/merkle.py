"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their verification.

Pure functions, no database. The tree over n leaves splits at the largest power of two
smaller than n; leaf hash = SHA-256(0x00 ‖ entry), node hash = SHA-256(0x01 ‖ left ‖ right).

Storage model (used by ``ledger``): every *perfect* subtree — 2^level leaves starting at a
multiple of 2^level — is hashed once when its last leaf arrives and never changes, so it can
be stored under (level, index). Any subtree the RFC's recursion names, [a, b), is a
right-to-left fold of at most log2(n) perfect subtrees (``perfect_blocks``), so proofs and
past roots come from O(log n) stored hashes without rebuilding anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- ranges and perfect blocks --------------------------------------------------------------

Range = tuple[int, int]  # [start, end) of leaf indices
Node = tuple[int, int]  # (level, index): leaves [index·2^level, (index+1)·2^level)


def perfect_blocks(start: int, end: int) -> list[Node]:
    """The perfect subtrees whose right fold is MTH(D[start:end]) for an RFC subtree.

    For the subtrees RFC 9162's recursion produces, each block is aligned; the fold is
    ``H(b0, H(b1, … H(b_{k-1}, b_k)))``.
    """
    blocks: list[Node] = []
    while start < end:
        n = end - start
        size = n if n & (n - 1) == 0 else split_point(n)
        level = size.bit_length() - 1
        if start % size:
            raise ValueError(f"range [{start}, {end}) is not an RFC 9162 subtree")
        blocks.append((level, start >> level))
        start += size
    return blocks


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of perfect-block hashes into the subtree hash."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form PATH(index, D[0:size]), leaf first (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose hashes form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1)."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old == new:
        return []

    def subproof(m: int, lo: int, hi: int, complete: bool) -> list[Range]:
        n = hi - lo
        if m == n:
            return [] if complete else [(lo, hi)]
        k = split_point(n)
        if m <= k:
            return subproof(m, lo, lo + k, complete) + [(lo + k, hi)]
        return subproof(m - k, lo + k, hi, False) + [(lo, lo + k)]

    return subproof(old, 0, new, True)


# --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) ------------------------------------------


class ProofError(ValueError):
    """A proof that does not verify; the message says why."""


def _check_hash(h: bytes, what: str) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"{what} is {len(h)} bytes, not {HASH_SIZE}")


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof implies (§2.1.3.2); raises ProofError when malformed."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise ProofError("proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Raises ProofError unless ``path`` proves leaf ``index`` is in the tree with ``root``."""
    _check_hash(root, "root")
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raises ProofError unless ``proof`` shows the tree of size ``old`` is a prefix of the
    tree of size ``new`` (§2.1.4.2)."""
    if old < 1 or old > new:
        raise ProofError(f"no consistency between sizes {old} and {new}")
    if old == new:
        # Nothing to hash: the heads agree or they do not (the reference verifier does not
        # look at the roots' length here either).
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("equal sizes with different roots")
        return
    _check_hash(old_root, "old root")
    _check_hash(new_root, "new root")
    for p in proof:
        _check_hash(p, "proof hash")
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("proof is shorter than needed")
    if fr != old_root:
        raise ProofError("proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("proof does not lead to the new root")


# --- the compact range: O(log n) state for appending ----------------------------------------


@dataclass
class CompactRange:
    """The perfect subtrees covering leaves [0, size), largest first: enough to append and
    to compute the root. ``on_node`` is told of every perfect node made (for storage)."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes, on_node: Callable[[int, int, bytes], None] | None = None) -> None:
        index = self.size
        h = leaf
        level = 0
        self.hashes.append(h)
        # Each trailing 1-bit of the old size is a sibling waiting to be merged.
        while (index >> level) & 1:
            right = self.hashes.pop()
            left = self.hashes.pop()
            h = node_hash(left, right)
            level += 1
            self.hashes.append(h)
            if on_node is not None:
                on_node(level, index >> level, h)
        self.size = index + 1

    def root(self) -> bytes:
        return fold(self.hashes)

    def nodes(self) -> list[Node]:
        return perfect_blocks(0, self.size)


def root_of(entries: Sequence[bytes]) -> bytes:
    """MTH of raw entries, straight from the definition (for tests and small checks)."""
    cr = CompactRange()
    for e in entries:
        cr.append(leaf_hash(e))
    return cr.root()
