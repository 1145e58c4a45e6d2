"""Checking a ledger from its entries: every entry, every stored subtree hash, every signed head.

No database here: ``ledger`` reads the rows (or an export's lines) and hands them over in
chunks of ``2^bits`` consecutive entries. Each chunk is checked on its own — leaf hashes,
canonical JSON, kinds, the perfect subtree over the chunk and the stored hashes inside it —
so chunks can be checked in parallel processes; ``Walk`` then joins the chunk roots in order
(the compact range of RFC 9162's tree) and compares the roots of signed heads. Hashing is
O(n) and nothing is looked up per entry.

The verdict is the one a plain entry-by-entry walk gives: the first problem in log order, where
at one position an entry's own problem comes before a subtree completed by it, and that before
a signed head of that size.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import json.encoder
import multiprocessing
import os
import re
from _json import make_encoder, scanstring
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onewindow.security import merkle

DEFAULT_BITS = 14  # 16,384 entries a chunk
_sha256 = hashlib.sha256


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The exact bytes hashed: sorted keys, no whitespace, UTF-8 (no ASCII escaping)."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@dataclass
class Verdict:
    ok: bool
    size: int
    root_hash: str
    first_bad_entry: int | None = None
    problem: str | None = None
    heads_checked: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "size": self.size,
            "root_hash": self.root_hash,
            "first_bad_entry": self.first_bad_entry,
            "problem": self.problem,
            "heads_checked": self.heads_checked,
        }


def entry_problem(expected: int, index: Any, entry: Any, leaf: Any, kind: str | None) -> str | None:
    """What is wrong with one entry at position ``expected``, or None."""
    if index != expected:
        return f"entry {expected} is missing (found index {index})"
    if not isinstance(entry, str) or not isinstance(leaf, str):
        return f"entry {expected} is malformed"
    try:
        body = entry.encode("utf-8")
    except UnicodeEncodeError:
        return f"entry {expected} is malformed"
    if merkle.leaf_hash(body).hex() != leaf:
        return f"entry {expected} does not match its leaf hash"
    try:
        parsed = json.loads(entry)
    except ValueError:
        return f"entry {expected} is not JSON"
    try:
        if not isinstance(parsed, dict) or canonical(parsed) != body:
            return f"entry {expected} is not canonical JSON"
    except ValueError:  # NaN or Infinity: never written by canonical()
        return f"entry {expected} is not canonical JSON"
    if kind is not None and parsed.get("kind") != kind:
        return f"entry {expected}: its kind column was changed"
    return None


class _Slow(Exception):
    """The bulk checks of a chunk did not all pass: find the first problem entry by entry."""


def _no_default(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} is not JSON")


# canonical()'s encoder, made once: calling it per entry skips building an encoder per call.
_encode_one = make_encoder(
    None, _no_default, json.encoder.encode_basestring, None, ":", ",", True, False, False
)


def canonical_text(obj: Any) -> str:
    """``canonical(obj)`` as text, faster for one object of many."""
    return "".join(_encode_one(obj, 0))


def _bulk_digests(
    start: int,
    indexes: Sequence[Any],
    entries: Sequence[Any],
    leaves: Sequence[Any],
    kinds: Sequence[str | None] | None,
) -> list[bytes]:
    """Leaf hashes of a chunk whose every entry is right; raises _Slow otherwise.

    Accepts exactly what ``entry_problem`` accepts, a chunk at a time: the entries are parsed
    as one JSON list, and each element's canonical encoding must be its entry's text (which
    also proves the entries split where the list's elements do).
    """
    if list(indexes) != list(range(start, start + len(indexes))):
        raise _Slow
    try:
        digests = [_sha256(b"\x00" + e.encode("utf-8")).digest() for e in entries]
        if [d.hex() for d in digests] != list(leaves):
            raise _Slow
        parsed = json.loads("[" + ",".join(entries) + "]")
        if len(parsed) != len(entries) or any(type(p) is not dict for p in parsed):
            raise _Slow
        if [canonical_text(p) for p in parsed] != list(entries):
            raise _Slow
    except (AttributeError, TypeError, ValueError) as exc:
        raise _Slow from exc
    if kinds is not None and [p.get("kind") for p in parsed] != list(kinds):
        raise _Slow
    return digests


@dataclass
class ChunkResult:
    """One chunk checked: what ``Walk`` needs to join it to the chunks before it."""

    start: int
    count: int  # rows in the chunk
    good: int  # entries before the first bad one (== count when all are right)
    entry_problem: str | None = None  # the problem of entry start + good
    node_failure: tuple[int, int, int] | None = None  # (last leaf, level, index), the first
    root: bytes | None = None  # the chunk's perfect subtree hash, when it is full and good
    # For each size n of interest in (start, start + good]: the perfect blocks of [start, n).
    blocks: dict[int, list[bytes]] = field(default_factory=dict)


def check_chunk(
    start: int,
    rows: Sequence[tuple[Any, Any, Any, str | None]],
    *,
    bits: int,
    sizes: Iterable[int] = (),
    stored: Mapping[int, Sequence[tuple[int, str]]] | None = None,
) -> ChunkResult:
    """Check ``rows`` (index, entry, leaf hash, kind) holding log positions start, start+1, …

    ``start`` is a multiple of 2^bits and a chunk shorter than 2^bits is the log's last.
    ``stored``: level → (index, hash) of the stored subtree hashes inside the chunk, levels 1
    to ``bits``. ``sizes``: tree sizes whose roots will be wanted (signed heads).
    """
    width = 1 << bits
    if start % width or len(rows) > width:
        raise ValueError(f"chunk at {start} of {len(rows)} rows does not fit 2^{bits}")
    indexes, entries = [r[0] for r in rows], [r[1] for r in rows]
    leaves, kinds = [r[2] for r in rows], [r[3] for r in rows]
    check_kinds = kinds if any(k is not None for k in kinds) else None
    try:
        digests = _bulk_digests(start, indexes, entries, leaves, check_kinds)
        good, problem = len(rows), None
    except _Slow:
        digests, good, problem = [], len(rows), None
        for i, (index, entry, leaf, kind) in enumerate(rows):
            problem = entry_problem(start + i, index, entry, leaf, kind)
            if problem:
                good = i
                break
            digests.append(bytes.fromhex(leaf))
    levels = [digests[:good]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [
                _sha256(b"\x01" + a + b).digest()
                for a, b in zip(below[0::2], below[1::2], strict=False)
            ]
        )
    result = ChunkResult(start, len(rows), good, problem)
    result.node_failure = _first_bad_node(start, levels, stored or {})
    if good == width:
        result.root = levels[bits][0]
    ends = {n for n in sizes if start < n <= start + good} | {start + good}
    if result.node_failure is not None:
        ends.add(result.node_failure[0] + 1)
    for n in ends:
        result.blocks[n] = [
            levels[lv][i - (start >> lv)] for lv, i in merkle.perfect_blocks(start, n)
        ]
    return result


def _first_bad_node(
    start: int, levels: list[list[bytes]], stored: Mapping[int, Sequence[tuple[int, str]]]
) -> tuple[int, int, int] | None:
    """(last leaf, level, index) of the stored subtree hash completed first that differs."""
    first: tuple[int, int, int] | None = None
    for level in range(1, len(levels)):
        made, base = levels[level], start >> level
        rows = [(i - base, h) for i, h in stored.get(level, ()) if 0 <= i - base < len(made)]
        if rows and rows[-1][0] == len(rows) - 1:  # all of 0..k (indexes are unique, sorted)
            if [h for _, h in rows] == [m.hex() for m in made[: len(rows)]]:
                continue
        bad = next((i for i, h in rows if made[i].hex() != h), None)
        if bad is None:
            continue
        last = ((base + bad + 1) << level) - 1
        if first is None or (last, level) < first[:2]:
            first = (last, level, base + bad)
    return first


class Walk:
    """Joins checked chunks in log order and decides the verdict."""

    def __init__(
        self,
        heads: Mapping[int, str],
        *,
        bits: int,
        upper_nodes: Mapping[merkle.Node, str] | None = None,
    ) -> None:
        self.heads = dict(heads)
        self.bits = bits
        self.upper_nodes = upper_nodes or {}
        self.upper = merkle.CompactRange()  # over chunk roots: its level 0 is level ``bits``
        self.tail: list[bytes] = []  # the blocks of a last, partial chunk
        self.size = 0
        self.checked = 0

    def sizes(self, start: int, count: int) -> list[int]:
        """The signed sizes a chunk at ``start`` of ``count`` rows must give roots for."""
        return sorted(n for n in self.heads if start < n <= start + count)

    def _heads_up_to(self, last: int) -> int:
        return sum(1 for s in self.heads if 0 < s <= last)

    def add(self, chunk: ChunkResult) -> Verdict | None:
        """Join the next chunk; a failing verdict if the log goes wrong in it, else None."""
        if chunk.start != self.size:
            raise ValueError(f"chunk at {chunk.start} after {self.size} entries")
        before = list(self.upper.hashes)

        def root(n: int) -> str:
            return merkle.fold(before + chunk.blocks[n]).hex()

        # (position, order at that position, level) -> verdict; the smallest wins.
        failures: list[tuple[tuple[int, int, int], Verdict]] = []
        if chunk.entry_problem is not None:
            at = chunk.start + chunk.good
            verdict = Verdict(False, at, root(at), at, chunk.entry_problem, self._heads_up_to(at))
            failures.append(((at, 0, 0), verdict))
        bad_node = chunk.node_failure
        if bad_node is None and chunk.root is not None and chunk.entry_problem is None:
            bad_upper: list[tuple[int, int]] = []

            def on_node(level: int, index: int, h: bytes) -> None:
                stored = self.upper_nodes.get((level + self.bits, index))
                if stored is not None and stored != h.hex() and not bad_upper:
                    bad_upper.append((level + self.bits, index))

            upper = merkle.CompactRange(self.upper.size, list(self.upper.hashes))
            upper.append(chunk.root, on_node)
            if bad_upper:
                bad_node = (chunk.start + chunk.count - 1, *bad_upper[0])
        if bad_node is not None:
            last, level, index = bad_node
            first = index << level
            problem = (
                f"entries {first}–{first + (1 << level) - 1} no longer add up to the stored "
                "subtree hash: an entry and its leaf hash were rewritten together"
            )
            verdict = Verdict(
                False, last + 1, root(last + 1), first, problem, self._heads_up_to(last)
            )
            failures.append(((last, 1, level), verdict))
        for n in self.sizes(chunk.start, chunk.good):
            want = self.heads[n]
            if root(n) != want:
                problem = (
                    f"the first {n} entries do not give the signed root {want}; "
                    f"an entry below {n} was rewritten with its leaf hash"
                )
                verdict = Verdict(False, n, root(n), None, problem, self._heads_up_to(n))
                failures.append(((n - 1, 2, 0), verdict))
                break
        if failures:
            return min(failures, key=lambda f: f[0])[1]
        self.size = chunk.start + chunk.count
        self.checked += len(self.sizes(chunk.start, chunk.count))
        if chunk.root is not None:
            self.upper.append(chunk.root)
        else:  # the last, partial chunk: its blocks end the compact range
            self.tail = chunk.blocks[self.size]
        return None

    def run(self, chunks: Iterator[ChunkResult]) -> Verdict:
        """Join every chunk (stopping at the first problem) and give the verdict."""
        empty = merkle.EMPTY_ROOT.hex()
        if self.heads.get(0, empty) != empty:
            problem = "a signed head of size 0 has a non-empty root"
            return Verdict(False, 0, empty, 0, problem, 0)
        try:
            for chunk in chunks:
                verdict = self.add(chunk)
                if verdict is not None:
                    return verdict
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stops the workers still checking later chunks
        return self.finish()

    def finish(self) -> Verdict:
        """The verdict once every chunk was added without a problem."""
        root = merkle.fold(list(self.upper.hashes) + self.tail).hex()
        beyond = [s for s in self.heads if s > self.size]
        if beyond:
            return Verdict(
                False,
                self.size,
                root,
                self.size,
                f"a signed head covers {max(beyond)} entries but only {self.size} are here: "
                f"entries from {self.size} on were deleted",
                self.checked,
            )
        return Verdict(True, self.size, root, None, None, self.checked)


# --- exports ----------------------------------------------------------------------------------


def export_line(index: int, entry: str, leaf: str) -> str:
    """One line of an export (without its newline): what ``json.dumps`` gives for
    ``{"index", "entry", "leaf_hash"}`` with ``ensure_ascii=False``, in one step."""
    quote = json.encoder.encode_basestring
    return f'{{"index": {int(index)}, "entry": {quote(entry)}, "leaf_hash": {quote(leaf)}}}'


_LINE_START = re.compile(r'\{"index": (-?(?:0|[1-9][0-9]*)), "entry": "')
_LEAF_KEY = ', "leaf_hash": "'


def _read_line(text: str) -> tuple[int, str, str] | None:
    """(index, entry, leaf hash) of a line laid out as ``export_line`` writes it, read with
    json's own string scanner (what json.loads would give); None for any other layout."""
    start = _LINE_START.match(text)
    if start is None:
        return None
    try:
        entry, end = scanstring(text, start.end())
        if not text.startswith(_LEAF_KEY, end):
            return None
        leaf, end = scanstring(text, end + len(_LEAF_KEY))
    except ValueError:
        return None
    if end != len(text) - 1 or text[end] != "}":
        return None
    return int(start.group(1)), entry, leaf


def export_rows(
    numbered: Sequence[tuple[int, str]],
) -> list[tuple[Any, Any, Any, str | None]]:
    """(index, entry, leaf hash, None) of numbered export lines; a line that is not a JSON
    object gives its line number and nothing else (so it shows as missing or malformed)."""
    rows: list[tuple[Any, Any, Any, str | None]] = []
    for n, line in numbered:
        fields = _read_line(line.rstrip("\n"))
        if fields is not None:
            rows.append((*fields, None))
            continue
        try:  # laid out some other way: read as any JSON
            doc = json.loads(line)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            rows.append((n, None, None, None))
        else:
            rows.append((doc.get("index"), doc.get("entry"), doc.get("leaf_hash"), None))
    return rows


def check_export_chunk(
    start: int, numbered: Sequence[tuple[int, str]], bits: int, sizes: list[int]
) -> ChunkResult:
    return check_chunk(start, export_rows(numbered), bits=bits, sizes=sizes)


def export_chunks(
    lines: Iterable[str], walk: Walk, workers: int | None, bits: int
) -> Iterator[ChunkResult]:
    """The export's non-blank lines, numbered as read, checked in chunks of 2^bits."""
    width = 1 << bits
    numbered = ((n, line) for n, line in enumerate(lines) if line.strip())
    batches = iter(lambda: list(itertools.islice(numbered, width)), [])
    calls = (
        (k * width, batch, bits, walk.sizes(k * width, width)) for k, batch in enumerate(batches)
    )
    processes = worker_count(workers, max(walk.heads, default=0), width)
    if processes > 1:
        yield from in_processes(check_export_chunk, calls, processes)
    else:
        for call in calls:
            yield check_export_chunk(*call)


def export_file_chunks(
    path: Path, walk: Walk, workers: int | None, bits: int
) -> Iterator[ChunkResult]:
    """As ``export_chunks`` on the file's lines; side by side, each worker reads its own
    part of the file (found here by counting lines), so no text crosses between processes."""
    width = 1 << bits
    processes = worker_count(workers, max(walk.heads, default=0), width)
    spans = _spans(path, width) if processes > 1 else None
    if spans is None:
        with path.open(encoding="utf-8") as fh:
            yield from export_chunks(fh, walk, 1, bits)
        return
    calls = (
        (str(path), begin, end, first_line, k * width, bits, walk.sizes(k * width, width))
        for k, (begin, end, first_line) in enumerate(spans)
    )
    yield from in_processes(check_export_span, calls, processes)


def _spans(path: Path, width: int) -> list[tuple[int, int, int]] | None:
    """(first byte, end byte, first line number) of each run of ``width`` non-blank lines, or
    None when the file is not plain UTF-8 lines ending in LF (then it is read as text)."""
    spans: list[tuple[int, int, int]] = []
    begin = offset = first_line = kept = 0
    with path.open("rb") as fh:
        for n, raw in enumerate(fh):
            if b"\r" in raw:
                return None
            try:  # a line as export writes it starts with "{": no need to decode it here
                blank = raw[:1] != b"{" and not raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                return None
            offset += len(raw)
            if blank:
                continue
            if kept == width:
                spans.append((begin, offset - len(raw), first_line))
                begin, first_line, kept = offset - len(raw), n, 0
            kept += 1
    if kept:
        spans.append((begin, offset, first_line))
    return spans


def check_export_span(
    path: str, begin: int, end: int, first_line: int, start: int, bits: int, sizes: list[int]
) -> ChunkResult:
    """In a worker process: check the export lines in bytes [begin, end) of the file."""
    with open(path, "rb") as fh:
        fh.seek(begin)
        text = fh.read(end - begin).decode("utf-8")
    numbered = [(first_line + i, line) for i, line in enumerate(text.split("\n")) if line.strip()]
    return check_export_chunk(start, numbered, bits, sizes)


# --- side by side -----------------------------------------------------------------------------


def worker_count(asked: int | None, entries: int, width: int) -> int:
    """Processes to check ``entries`` with: as asked, or one a CPU when there are more than
    two chunks (fewer are not worth starting processes for)."""
    if asked is not None:
        return max(1, asked)
    if entries <= 2 * width:
        return 1
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere the CPU count
    cpus = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return max(1, min(4, cpus))


def in_processes(
    fn: Callable[..., ChunkResult], calls: Iterable[tuple[Any, ...]], workers: int
) -> Iterator[ChunkResult]:
    """``fn(*call)`` for each call, in order, from ``workers`` forked processes; at most two
    calls a worker wait, so memory stays bounded and an early stop wastes little."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    pending: deque[Future[ChunkResult]] = deque()
    todo = iter(calls)
    try:
        for call in itertools.islice(todo, 2 * workers):
            pending.append(pool.submit(fn, *call))
        while pending:
            result = pending.popleft().result()
            for call in itertools.islice(todo, 1):
                pending.append(pool.submit(fn, *call))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
