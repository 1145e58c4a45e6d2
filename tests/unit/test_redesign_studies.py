"""The redesign studies' file store: ids that are not ours are unknown, a run whose process
died reads as failed, who may publish."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from onewindow.kit.errors import NotFound
from onewindow.simulation import studies


def _store(tmp_path: Path, study_id: str, **fields: object) -> Path:
    folder = tmp_path / "redesign-studies"
    folder.mkdir(exist_ok=True)
    path = folder / f"{study_id}.json"
    body = {"id": study_id, "status": "fitted", "created_at": "2026-03-02T09:00:00+00:00"}
    path.write_text(json.dumps({**body, **fields}), encoding="utf-8")
    return path


@pytest.mark.parametrize("bad", ["../../etc/passwd", "0123", "ABCDEF0123456789", "x" * 16, ""])
def test_ids_that_are_not_ours_are_unknown(tmp_path: Path, bad: str) -> None:
    with pytest.raises(NotFound):
        studies.load_study(tmp_path, bad)


def test_a_run_whose_process_died_reads_as_failed(tmp_path: Path) -> None:
    stale = time.time() - studies.STALE_SECONDS - 1
    _store(tmp_path, "0123456789abcdef", status="running", touched=stale)
    assert studies.load_study(tmp_path, "0123456789abcdef")["status"] == "failed"
    _store(tmp_path, "fedcba9876543210", status="running", touched=time.time())
    assert studies.load_study(tmp_path, "fedcba9876543210")["status"] == "running"


def test_studies_are_listed_newest_first_and_forgotten_after_a_week(tmp_path: Path) -> None:
    _store(tmp_path, "aaaaaaaaaaaaaaaa", created_at="2026-03-01T09:00:00+00:00")
    _store(tmp_path, "bbbbbbbbbbbbbbbb", created_at="2026-03-03T09:00:00+00:00")
    old = _store(tmp_path, "cccccccccccccccc")
    week_ago = time.time() - studies.KEPT_SECONDS - 60
    os.utime(old, (week_ago, week_ago))
    assert [s["id"] for s in studies.list_studies(tmp_path)] == [
        "bbbbbbbbbbbbbbbb",
        "aaaaaaaaaaaaaaaa",
    ]
    assert not old.exists()
    assert studies.list_studies(tmp_path / "nothing-yet") == []


def test_who_may_publish() -> None:
    study = {"departments": ["CENTER", "SAMR", "TAX"]}
    assert studies.may_publish(study, frozenset({"admin"}), "CENTER")
    assert studies.may_publish(study, frozenset({"reviewer", "head"}), "SAMR")
    assert not studies.may_publish(study, frozenset({"reviewer", "head"}), "HOUSING")
    assert not studies.may_publish(study, frozenset({"analyst"}), "CENTER")
    assert not studies.may_publish(study, frozenset({"head"}), None)
