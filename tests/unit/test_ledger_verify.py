"""Chunked ledger verification gives the verdict of a plain entry-by-entry walk — on intact
logs, on every kind of tampering, at every chunk size, in one process or several — and its
fast paths (bulk canonical check, export lines) match json's own output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from onewindow.security import ledger_verify as lv
from onewindow.security import merkle
from tests import rfc9162

Row = tuple[Any, Any, Any, str | None]


def _rows(n: int) -> list[Row]:
    out: list[Row] = []
    for i in range(n):
        body = lv.canonical({"kind": "field_unmasked", "i": i, "名": "张", "at": "2026-03-02"})
        out.append((i, body.decode(), merkle.leaf_hash(body).hex(), "field_unmasked"))
    return out


def _stored(rows: list[Row]) -> dict[merkle.Node, str]:
    nodes: dict[merkle.Node, str] = {}
    tree = merkle.CompactRange()
    for row in rows:
        tree.append(bytes.fromhex(row[2]), lambda lv_, i, h: nodes.__setitem__((lv_, i), h.hex()))
    return nodes


def _heads(rows: list[Row], sizes: list[int]) -> dict[int, str]:
    entries = [r[1].encode() for r in rows]
    return {s: rfc9162.mth(entries[:s]).hex() for s in sizes}


def reference_walk(
    rows: list[Row], heads: dict[int, str], stored: dict[merkle.Node, str]
) -> lv.Verdict:
    """The verdict as one walk over the entries, one at a time, names it."""
    tree = merkle.CompactRange()
    checked = 0
    bad: list[merkle.Node] = []

    def on_node(level: int, index: int, h: bytes) -> None:
        if not bad and stored.get((level, index), h.hex()) != h.hex():
            bad.append((level, index))

    def fail(problem: str, at: int | None) -> lv.Verdict:
        return lv.Verdict(False, tree.size, tree.root().hex(), at, problem, checked)

    if heads.get(0, merkle.EMPTY_ROOT.hex()) != merkle.EMPTY_ROOT.hex():
        return fail("a signed head of size 0 has a non-empty root", 0)
    for index, entry, leaf, kind in rows:
        expected = tree.size
        problem = lv.entry_problem(expected, index, entry, leaf, kind)
        if problem:
            return fail(problem, expected)
        tree.append(bytes.fromhex(leaf), on_node)
        if bad:
            level, i = bad[0]
            first = i << level
            return fail(
                f"entries {first}–{first + (1 << level) - 1} no longer add up to the stored "
                "subtree hash: an entry and its leaf hash were rewritten together",
                first,
            )
        want = heads.get(tree.size)
        if want is not None:
            checked += 1
            if tree.root().hex() != want:
                return fail(
                    f"the first {tree.size} entries do not give the signed root {want}; "
                    f"an entry below {tree.size} was rewritten with its leaf hash",
                    None,
                )
    beyond = [s for s in heads if s > tree.size]
    if beyond:
        return fail(
            f"a signed head covers {max(beyond)} entries but only {tree.size} are here: "
            f"entries from {tree.size} on were deleted",
            tree.size,
        )
    return lv.Verdict(True, tree.size, tree.root().hex(), None, None, checked)


def chunked_walk(
    rows: list[Row], heads: dict[int, str], stored: dict[merkle.Node, str], bits: int
) -> lv.Verdict:
    """What ``ledger.verify_stored`` does with the rows, read a chunk at a time."""
    width = 1 << bits
    upper = {k: v for k, v in stored.items() if k[0] > bits}
    walk = lv.Walk(heads, bits=bits, upper_nodes=upper)

    def chunks() -> Any:
        for start in range(0, len(rows), width):
            part = rows[start : start + width]
            inside = {
                level: sorted(
                    (i, h)
                    for (lvl, i), h in stored.items()
                    if lvl == level and start >> level <= i < (start + width) >> level
                )
                for level in range(1, bits + 1)
            }
            sizes = walk.sizes(start, len(part))
            yield lv.check_chunk(start, part, bits=bits, sizes=sizes, stored=inside)

    return walk.run(chunks())


def _forged(i: int, text: str) -> Row:
    return (i, text, merkle.leaf_hash(text.encode()).hex(), "field_unmasked")


def _tamper_node(stored: dict[merkle.Node, str], j: int, pick: Callable[..., Any]) -> None:
    """Change a stored subtree hash over entry j (the lowest or highest one), if any."""
    over = [(lvl, i) for lvl, i in stored if i << lvl <= j < (i + 1) << lvl]
    if over:
        stored[pick(over)] = "ab" * 32


Mutation = Callable[[list[Row], dict[int, str], dict[merkle.Node, str], int], None]


def _set(rows: list[Row], j: int, column: int, value: Any) -> None:
    row = list(rows[j])
    row[column] = value
    rows[j] = (row[0], row[1], row[2], row[3])


MUTATIONS: dict[str, Mutation] = {
    "intact": lambda rows, heads, stored, j: None,
    "leaf changed": lambda rows, heads, stored, j: _set(rows, j, 2, "0" * 64),
    "entry changed": lambda rows, heads, stored, j: _set(
        rows, j, 1, rows[j][1].replace("张", "李")
    ),
    "kind column changed": lambda rows, heads, stored, j: _set(rows, j, 3, "grant_approved"),
    "not canonical": lambda rows, heads, stored, j: rows.__setitem__(
        j, _forged(j, rows[j][1].replace(",", ", ", 1))
    ),
    "duplicate key": lambda rows, heads, stored, j: rows.__setitem__(
        j, _forged(j, '{"at":"x","at":"y","i":1,"kind":"field_unmasked"}')
    ),
    "not json": lambda rows, heads, stored, j: rows.__setitem__(j, _forged(j, "{not json")),
    "a list": lambda rows, heads, stored, j: rows.__setitem__(j, _forged(j, "[1,2]")),
    "nan": lambda rows, heads, stored, j: rows.__setitem__(
        j, _forged(j, '{"i":NaN,"kind":"field_unmasked"}')
    ),
    "row deleted": lambda rows, heads, stored, j: rows.__delitem__(j),
    "tail deleted": lambda rows, heads, stored, j: rows.__delitem__(slice(j, None)),
    "rewritten with its leaf": lambda rows, heads, stored, j: rows.__setitem__(
        j, _forged(j, lv.canonical({"kind": "field_unmasked", "i": -1}).decode())
    ),
    "lowest subtree hash changed": lambda rows, heads, stored, j: _tamper_node(stored, j, min),
    "highest subtree hash changed": lambda rows, heads, stored, j: _tamper_node(stored, j, max),
    "signed root wrong": lambda rows, heads, stored, j: heads.__setitem__(j + 1, "cd" * 32),
    "empty head wrong": lambda rows, heads, stored, j: heads.__setitem__(0, "ef" * 32),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
@pytest.mark.parametrize("n", [1, 2, 7, 8, 13, 23, 37])
def test_chunks_give_the_entry_by_entry_verdict(name: str, n: int) -> None:
    for j in sorted({0, n // 2, n - 1}):
        rows = _rows(n)
        stored = _stored(rows)
        heads = _heads(rows, sorted({1, n // 3, n // 2 + 1, n}))
        MUTATIONS[name](rows, heads, stored, j)
        want = reference_walk(rows, heads, stored)
        assert want.ok is (name == "intact") or "subtree" in name or "root" in name, name
        for bits in (1, 2, 3, lv.DEFAULT_BITS):
            assert chunked_walk(rows, heads, stored, bits) == want, (name, n, j, bits)


def test_every_size_gives_the_rfc_root() -> None:
    rows = _rows(70)
    entries = [r[1].encode() for r in rows]
    heads = _heads(rows, list(range(1, 71)))
    for bits in (1, 2, 3, 5):
        verdict = chunked_walk(rows, heads, _stored(rows), bits)
        assert verdict.ok
        assert verdict.heads_checked == 70
        assert verdict.root_hash == rfc9162.mth(entries).hex()
    assert chunked_walk([], {}, {}, 2) == lv.Verdict(True, 0, merkle.EMPTY_ROOT.hex())


@pytest.mark.parametrize(
    "obj",
    [
        {"b": 1, "a": [1.5, 1e-07, 1e16, -0.0, 10**30], "c": {"z": None, "y": True}},
        {"名": "张\u3000三", "q": 'say "hi"\\ \n\t\x00\x1f\u2028\U0001f600', "e": ""},
        {"nested": [{"b": [], "a": {}}], "n": -12345678901234567890},
    ],
)
def test_the_bulk_encoder_is_canonical(obj: dict[str, Any]) -> None:
    text = lv.canonical_text(obj)
    assert text.encode() == lv.canonical(obj)
    leaf = merkle.leaf_hash(text.encode()).hex()
    # the bulk path takes canonical entries (no fallback to one at a time) ...
    assert lv._bulk_digests(0, [0, 1], [text, text], [leaf, leaf], None)
    # ... and refuses what is not, as the entry-by-entry check does
    spaced = text.replace(",", ", ", 1)
    with pytest.raises(lv._Slow):
        lv._bulk_digests(0, [0], [spaced], [merkle.leaf_hash(spaced.encode()).hex()], None)


@pytest.mark.parametrize(
    "entry", ['{"q":"say \\"hi\\" \\\\ é 名 \\u2028 \\u0000"}', "plain", "", "\x7f\u3000"]
)
def test_export_lines_are_what_json_dumps_writes(entry: str) -> None:
    want = json.dumps({"index": 12, "entry": entry, "leaf_hash": "ab"}, ensure_ascii=False)
    assert lv.export_line(12, entry, "ab") == want


def _export(path: Path, rows: list[Row], extra: dict[int, str] | None = None) -> None:
    lines = [lv.export_line(i, e, h) for i, e, h, _ in rows]
    for at, text in sorted((extra or {}).items(), reverse=True):
        lines.insert(at, text)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("label", "extra"),
    [
        ("as exported", {}),
        ("blank lines", {0: "", 5: "   ", 40: "\u3000"}),
        ("a garbage line", {17: "{oops"}),
        ("spaced differently", {9: '{"index":9,"entry":"x","leaf_hash":"y"}'}),
    ],
)
def test_an_export_checked_by_worker_processes_gives_the_same_verdict(
    tmp_path: Path, label: str, extra: dict[int, str]
) -> None:
    rows = _rows(45)
    heads = _heads(rows, [45])
    path = tmp_path / "ledger.jsonl"
    _export(path, rows, extra)
    verdicts = []
    for workers in (1, 2):
        walk = lv.Walk(heads, bits=2)
        verdicts.append(walk.run(lv.export_file_chunks(path, walk, workers, 2)))
    with path.open(encoding="utf-8") as fh:
        walk = lv.Walk(heads, bits=2)
        verdicts.append(walk.run(lv.export_chunks(fh, walk, 1, 2)))
    assert verdicts[0] == verdicts[1] == verdicts[2], label
    assert verdicts[0].ok is (label in ("as exported", "blank lines")), verdicts[0]


@pytest.mark.parametrize(
    "line",
    [
        lv.export_line(3, '{"a":"\\u0000 é \\"q\\" \\\\"}', "ab"),
        lv.export_line(-0, "名\u2028", ""),
        '{"index": 1, "entry": "x", "leaf_hash": "y"} ',
        '{"index":1,"entry":"x","leaf_hash":"y"}',
        '{"index": 01, "entry": "x", "leaf_hash": "y"}',
        '{"index": 1, "entry": "x\ty", "leaf_hash": "y"}',
        '{"index": 1, "entry": "x", "leaf_hash": "y", "more": 1}',
        '{"index": 1, "entry": "x", "leaf_hash": "y"}}',
        '{"index": 1, "entry": "x", "leaf_hash": 5}',
        '{"index": 1, "entry": "unterminated, "leaf_hash": "y"}',
        "[1, 2]",
    ],
)
def test_export_lines_read_as_json_reads_them(line: str) -> None:
    try:
        doc = json.loads(line)
    except ValueError:
        doc = None
    want = (
        (doc.get("index"), doc.get("entry"), doc.get("leaf_hash"), None)
        if isinstance(doc, dict)
        else (7, None, None, None)
    )
    assert lv.export_rows([(7, line + "\n")]) == [want]
