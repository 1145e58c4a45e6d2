"""An independent RFC 9162 reference, written in the tests from the RFC's definitions.

It shares no code with ``onewindow.security.merkle``: MTH, PATH and PROOF are the recursive
definitions of §2.1.1, §2.1.3.1 and §2.1.4.1; the verifiers are §2.1.3.2 and §2.1.4.2.
"""

from __future__ import annotations

import hashlib


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return h(b"")
    if n == 1:
        return h(b"\x00" + d[0])
    k = k_of(n)
    return h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = k_of(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if b else [mth(d)]
        k = k_of(n)
        if m <= k:
            return subproof(m, d[:k], b) + [mth(d[k:])]
        return subproof(m - k, d[k:], False) + [mth(d[:k])]

    return subproof(m, d, True)


def verify_inclusion(index: int, size: int, leaf: bytes, audit: list[bytes], root: bytes) -> bool:
    if index >= size or len(leaf) != 32 or len(root) != 32:
        return False
    if any(len(p) != 32 for p in audit):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in audit:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = h(b"\x01" + p + r)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            r = h(b"\x01" + r + p)
        fn //= 2
        sn //= 2
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, cpath: list[bytes]
) -> bool:
    if first == 0 or first > second:
        return False
    if first == second:
        return not cpath and first_hash == second_hash
    if not cpath or len(first_hash) != 32 or len(second_hash) != 32:
        return False
    if any(len(c) != 32 for c in cpath):
        return False
    if first & (first - 1) == 0:
        cpath = [first_hash, *cpath]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn //= 2
        sn //= 2
    fr = sr = cpath[0]
    for c in cpath[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = h(b"\x01" + c + fr)
            sr = h(b"\x01" + c + sr)
            if fn % 2 == 0:
                while not (fn % 2 == 1 or fn == 0):
                    fn //= 2
                    sn //= 2
        else:
            sr = h(b"\x01" + sr + c)
        fn //= 2
        sn //= 2
    return fr == first_hash and sr == second_hash and sn == 0
