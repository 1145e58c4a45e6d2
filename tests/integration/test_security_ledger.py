"""The ledger on a real database: decisions land in it, proofs check out against the RFC's
own definitions, signed heads verify offline, and a rewritten or deleted row is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from onewindow.cli.main import app
from onewindow.kit.platform import Platform
from onewindow.security import ledger
from onewindow.security.ledger import EntryKind
from tests import rfc9162

from .test_api_support import ACCEPT, APPROVE, staff, take_application, task_id

runner = CliRunner()


@pytest.fixture
def cli_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("ONEWINDOW_DATABASE_URL", platform.settings.resolved_database_url)
    monkeypatch.setenv("ONEWINDOW_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("ONEWINDOW_ENV", "test")
    return platform


def _cli(*args: str, code: int = 0) -> dict[str, Any]:
    result = runner.invoke(app, ["ledger", *args])
    assert result.exit_code == code, result.output
    doc: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return doc


def _fill(platform: Platform, n: int) -> None:
    with platform.unit_of_work() as ctx:
        for i in range(n):
            ledger.append(ctx, EntryKind.FIELD_UNMASKED, {"i": i, "名": "张"}, actor="t")


def _raw_entries(platform: Platform) -> list[bytes]:
    with platform.unit_of_work() as ctx:
        return [e.entry.encode() for e in ledger.entries(ctx.session)]


def test_proofs_from_the_cli_check_out_against_the_rfc(cli_env: Platform) -> None:
    _fill(cli_env, 13)
    _fill(cli_env, 10)  # a second transaction continues the same tree
    d = _raw_entries(cli_env)
    assert len(d) == 23
    assert json.loads(d[0])["kind"] == "field_unmasked"
    for size in (1, 7, 16, 23):
        doc = _cli("root", "--size", str(size))
        assert doc == {"size": size, "root_hash": rfc9162.mth(d[:size]).hex()}
    for index, size in ((0, 1), (5, 23), (22, 23), (15, 16)):
        doc = _cli("prove-inclusion", "--index", str(index), "--size", str(size))
        path = [bytes.fromhex(x) for x in doc["audit_path"]]
        assert path == rfc9162.path(index, d[:size])
        leaf = bytes.fromhex(doc["leaf_hash"])
        assert rfc9162.verify_inclusion(index, size, leaf, path, rfc9162.mth(d[:size]))
    for old, new in ((1, 23), (7, 23), (16, 23), (4, 8), (23, 23)):
        doc = _cli("prove-consistency", "--old", str(old), "--new", str(new))
        proof = [bytes.fromhex(x) for x in doc["proof"]]
        assert proof == rfc9162.proof(old, d[:new])
        assert rfc9162.verify_consistency(
            old, new, rfc9162.mth(d[:old]), rfc9162.mth(d[:new]), proof
        )
    _cli("prove-inclusion", "--index", "30", code=2)


def test_export_head_and_key_verify_offline(cli_env: Platform, tmp_path: Path) -> None:
    _fill(cli_env, 9)
    head_file, key_file, export = tmp_path / "head.json", tmp_path / "pub.pem", tmp_path / "l.jsonl"
    head = _cli("sign", "--out", str(head_file))
    assert head["size"] == 9
    _cli("public-key", "--out", str(key_file))
    assert _cli("export", "--out", str(export))["entries"] == 9
    lines = export.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert set(first) == {"index", "entry", "leaf_hash"}
    assert rfc9162.h(b"\x00" + first["entry"].encode()).hex() == first["leaf_hash"]
    offline = ("verify", "--export", str(export), "--tree-head", str(head_file))
    assert _cli(*offline, "--public-key", str(key_file))["ok"] is True
    # one byte of one exported entry changed: named
    doc = json.loads(lines[4])
    doc["entry"] = doc["entry"].replace('"i":4', '"i":5')
    lines[4] = json.dumps(doc, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = _cli(*offline, "--public-key", str(key_file), code=1)
    assert bad["first_bad_entry"] == 4
    # a forged head does not verify
    forged = {**head, "root_hash": "00" * 32}
    head_file.write_text(json.dumps(forged))
    assert "signature" in _cli(*offline, "--public-key", str(key_file), code=1)["problem"]


def _allow_rewrites(platform: Platform) -> None:
    with platform.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER ledger_entries_no_{verb}"))
        else:
            conn.execute(
                text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
            )


def _rewrite_with_leaf(platform: Platform, idx: int) -> None:
    """Rewrite one entry together with its leaf hash (past the append-only triggers)."""
    _allow_rewrites(platform)
    forged = ledger.canonical({"kind": "field_unmasked", "i": 99, "at": "x", "actor": "t"})
    with platform.engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_entries SET entry = :e, leaf_hash = :h WHERE idx = :i"),
            {"e": forged.decode(), "h": rfc9162.h(b"\x00" + forged).hex(), "i": idx},
        )


def test_rows_are_append_only_in_the_database(platform: Platform) -> None:
    _fill(platform, 2)
    with pytest.raises(Exception, match="append-only"), platform.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET entry = 'x' WHERE idx = 0"))
    with pytest.raises(Exception, match="append-only"), platform.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE idx = 1"))


@pytest.mark.parametrize("column", ["entry", "leaf_hash", "kind"])
def test_one_changed_byte_in_the_database_is_named(cli_env: Platform, column: str) -> None:
    _fill(cli_env, 12)
    _cli("sign")
    assert _cli("verify")["ok"] is True
    _allow_rewrites(cli_env)
    with cli_env.engine.begin() as conn:
        value = conn.execute(
            text(f"SELECT {column} FROM ledger_entries WHERE idx = 7")
        ).scalar_one()
        i = len(value) // 2
        changed = value[:i] + ("1" if value[i] != "1" else "2") + value[i + 1 :]
        conn.execute(text(f"UPDATE ledger_entries SET {column} = :v WHERE idx = 7"), {"v": changed})
    verdict = _cli("verify", code=1)
    assert verdict["first_bad_entry"] == 7, verdict
    assert "entry 7" in verdict["problem"]


def test_a_consistent_rewrite_or_a_deletion_is_caught(cli_env: Platform) -> None:
    _fill(cli_env, 12)
    _cli("sign")
    # rewrite entry 9 *and* its leaf hash: the stored subtree hashes no longer add up
    _rewrite_with_leaf(cli_env, 9)
    verdict = _cli("verify", code=1)
    assert verdict["first_bad_entry"] in (8, 9)
    with cli_env.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE idx >= 9"))
    verdict = _cli("verify", code=1)
    assert verdict["first_bad_entry"] == 9


def test_decisions_grants_tokens_land_in_the_ledger(client: Any, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200
    reviewer = staff(client, "samr_wang")
    review = task_id(reviewer, number, "Task_samr_review")
    r = reviewer.post(f"/tasks/{review}/complete", json={"data": APPROVE})
    assert r.status_code == 200, r.text
    admin = staff(client, "center_zhou")
    token = admin.post("/admin/tokens", json={"name": "x", "scopes": ["cases.search"]}).json()
    admin.delete(f"/admin/tokens/{token['id']}")
    with city.unit_of_work() as ctx:
        kinds = [(e.kind, json.loads(e.entry)) for e in ledger.entries(ctx.session)]
    decided = [e for k, e in kinds if k == "task_decided"]
    assert decided
    assert decided[-1]["decision"] == "approve"
    assert decided[-1]["case"] == number
    assert decided[-1]["actor"] == "samr_wang"
    changes = [e["change"] for k, e in kinds if k == "permission_changed"]
    assert changes == ["issued", "revoked"]
    auditor = staff(client, "center_zheng")
    head = admin.post("/ledger/tree-head").json()
    assert head["size"] == len(kinds)
    assert auditor.get("/ledger/tree-head").json() == head
    proof = auditor.get("/ledger/inclusion", params={"index": 0}).json()
    assert proof["size"] == len(kinds)
    assert auditor.get("/ledger/public-key").text.startswith("-----BEGIN PUBLIC KEY-----")


def test_worker_processes_give_the_verdict_of_one(cli_env: Platform) -> None:
    _fill(cli_env, 23)
    with cli_env.unit_of_work() as ctx:
        ledger.sign_tree_head(ctx)

    def verdicts() -> list[ledger.Verdict]:
        with cli_env.unit_of_work() as ctx:
            return [ledger.verify_stored(ctx, workers=w, bits=2) for w in (1, 2)]

    one, two = verdicts()
    assert one == two
    assert one.ok
    assert one.size == 23
    _rewrite_with_leaf(cli_env, 13)
    one, two = verdicts()
    assert one == two
    assert one.first_bad_entry == 12  # the pair 12-13 no longer gives its stored hash
    with cli_env.engine.begin() as conn:  # a gap: read in order by this process, same verdict
        conn.execute(text("DELETE FROM ledger_entries WHERE idx = 5"))
    one, two = verdicts()
    assert one == two
    assert one.problem == "entry 5 is missing (found index 6)"


def test_a_given_head_is_checked_with_the_stored_ones(cli_env: Platform, tmp_path: Path) -> None:
    _fill(cli_env, 9)
    head_file = tmp_path / "head.json"
    head = _cli("sign", "--out", str(head_file))
    _fill(cli_env, 3)
    doc = _cli("verify", "--tree-head", str(head_file))
    assert doc["ok"] is True
    assert doc["heads_checked"] == 1
    assert doc["problem"] == "3 entries are newer than the head"
    head_file.write_text(json.dumps({**head, "root_hash": "00" * 32}))
    assert "signature" in _cli("verify", "--tree-head", str(head_file), code=1)["problem"]
