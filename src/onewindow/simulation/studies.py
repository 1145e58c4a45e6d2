"""Redesign studies (流程再造研究): one service's own log fitted and validated, its redesign
proposals simulated with replications and compared, one of them published.

A study is a small JSON file under the data directory, not a table: it is a working paper
of the analyst (kept a week), and with the pre-fork server the page polling a running study
may reach another process than the one that runs it. What lasts — the new process version
and the prediction — is written to the database by :func:`publish_from_study`.

Steps: :func:`start_study` (fit + validate, quick: one service's log) → :func:`begin_run` and
:func:`run_proposals` (long: in a thread, progress written after each scenario) →
:func:`publish_from_study` (head or admin, once per study).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast

from onewindow.catalog import service as catalog
from onewindow.kit.errors import Conflict, NotFound, OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx, Platform
from onewindow.simulation import publish
from onewindow.simulation.models import Prediction

__all__ = [
    "MAX_REPLICATIONS",
    "MAX_SIM_CASES",
    "MIN_LOG_CASES",
    "begin_run",
    "list_studies",
    "load_study",
    "may_publish",
    "proposal_of",
    "publish_from_study",
    "run_proposals",
    "start_study",
]

MIN_LOG_CASES: Final = 20  # fewer cases than this fit nothing worth simulating
MIN_SIM_CASES: Final = 100
MAX_SIM_CASES: Final = 5000  # a run of all proposals stays within about a minute
MAX_REPLICATIONS: Final = 20
KEPT_SECONDS: Final = 7 * 24 * 3600
STALE_SECONDS: Final = 30 * 60  # a run not finished by then died with its process
_ID: Final = re.compile(r"^[0-9a-f]{16}$")


# --- the store ----------------------------------------------------------------------------


def _folder(data_dir: Path) -> Path:
    return data_dir / "redesign-studies"


def _write(data_dir: Path, study: dict[str, Any]) -> None:
    folder = _folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{study['id']}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(json.dumps(study, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / f"{study['id']}.json")  # readers never see half a file


def load_study(data_dir: Path, study_id: str) -> dict[str, Any]:
    """The study ``study_id``; a run whose process died is reported as failed.

    Raises:
        NotFound: no such study (or it was forgotten after a week).
    """
    study: dict[str, Any] | None = None
    if _ID.match(study_id):
        try:
            study = json.loads((_folder(data_dir) / f"{study_id}.json").read_text("utf-8"))
        except (OSError, ValueError):
            study = None
    if study is None:
        raise NotFound(
            f"No redesign study {study_id}",
            message_zh="没有这项流程再造研究（或已超过一周被清理）",
            code="simulation.study_unknown",
        )
    if study["status"] == "running" and time.time() - study.get("touched", 0) > STALE_SECONDS:
        study["status"] = "failed"
        study["error"] = ["运行中断（服务进程已停止），请重新运行", "The run was interrupted"]
    return study


def list_studies(data_dir: Path, *, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent studies, newest first; studies older than a week are forgotten."""
    folder = _folder(data_dir)
    if not folder.is_dir():
        return []
    cutoff = time.time() - KEPT_SECONDS
    found = []
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                continue
            found.append(load_study(data_dir, path.stem))
        except (OSError, OneWindowError):
            continue  # pruned or replaced by another process meanwhile
    found.sort(key=lambda s: s["created_at"], reverse=True)
    return found[:limit]


# --- fit and validate -----------------------------------------------------------------------


def _bounded(value: int, low: int, high: int, what: str, what_zh: str) -> int:
    if not low <= value <= high:
        raise ValidationFailed(
            f"{what} must be between {low} and {high}, got {value}",
            message_zh=f"{what_zh}须在 {low} 到 {high} 之间（收到 {value}）",
            code="simulation.study_invalid",
        )
    return value


def _called(ctx: Ctx, xml: bytes) -> dict[str, bytes]:
    called: dict[str, bytes] = {}
    for key in catalog.bpmn_keys(xml)[1]:
        versions = catalog.process_versions(ctx, key)
        if versions:
            called[key] = versions[-1].bpmn_xml.encode("utf-8")
    return called


def _since(ctx: Ctx, service_code: str, process_id: int) -> datetime | None:
    """Where the current process version's log starts: at the redesign that introduced it."""
    for prediction in publish.list_predictions(ctx, service_code):
        if prediction.to_process_id == process_id:
            return prediction.change_point
    return None


def start_study(
    ctx: Ctx,
    service_code: str,
    *,
    cases: int = 1000,
    replications: int = 5,
    seed: int = 0,
    actor: str,
    actor_name: str | None = None,
) -> dict[str, Any]:
    """Fit the simulation of ``service_code``'s current process from its own log and validate
    the fitted baseline against that log; the study is stored (status ``fitted``).

    Raises:
        ValidationFailed: unknown service (``simulation.service_unknown``), too little log
            (``simulation.too_little_log``), bad settings, or a log the model cannot fit.
    """
    from onewindow.simulation.fit import fit_params
    from onewindow.simulation.model import parse_model
    from onewindow.simulation.params import dump_params
    from onewindow.simulation.validate import validate_baseline

    _bounded(cases, MIN_SIM_CASES, MAX_SIM_CASES, "cases", "仿真件数")
    _bounded(replications, 2, MAX_REPLICATIONS, "replications", "重复次数")
    try:
        item = catalog.get_service(ctx, service_code)
    except NotFound:
        raise ValidationFailed(
            f"No service {service_code!r}: choose one from the list",
            message_zh=f"没有事项 {service_code}，请从列表中选择",
            code="simulation.service_unknown",
        ) from None
    proc = catalog.get_process(ctx, item.process_definition_id)
    xml = proc.bpmn_xml.encode("utf-8")
    called = _called(ctx, xml)
    in_person = list(item.in_person_activities)
    applicant_lanes = [k for k, v in item.lanes.items() if v == "APPLICANT"]
    info: dict[str, Any] = {
        "service": item.code,
        "service_zh": item.name_zh,
        "service_en": item.name_en,
        "process_id": proc.id,
        "process_key": proc.process_key,
        "process_version": proc.version,
        "in_person": in_person,
        "applicant_lanes": applicant_lanes,
        "departments": sorted({v for v in item.lanes.values() if v != "APPLICANT"}),
        "materials": [
            {
                "code": m.code,
                "name_zh": m.name_zh,
                "required": m.required,
                "certificate": m.certificate,
            }
            for m in item.materials
        ],
    }
    since = _since(ctx, item.code, proc.id)
    log = publish.service_log(ctx, item.code, since=since)
    log_cases = log["case:concept:name"].n_unique() if log.height else 0
    if log_cases < MIN_LOG_CASES:
        raise ValidationFailed(
            f"{item.code} has {log_cases} cases in its log on process version {proc.version}; "
            f"at least {MIN_LOG_CASES} are needed to fit a simulation",
            message_zh=f"{item.name_zh} 在当前流程版本（v{proc.version}）下只有 {log_cases} 件办件"
            f"日志，至少需要 {MIN_LOG_CASES} 件才能拟合仿真模型",
            code="simulation.too_little_log",
            details={"cases": log_cases, "needed": MIN_LOG_CASES},
        )
    model = parse_model(xml, source=f"{proc.process_key} v{proc.version}", called=called)
    fitted = fit_params(
        log,
        model,
        calendar=ctx.calendar,
        in_person=in_person,
        applicant_lanes=applicant_lanes,
        seed=seed,
    )
    report = validate_baseline(
        log, model, fitted.params, replications=replications, seed=seed, calendar=ctx.calendar
    )
    first = log["time:timestamp"].min()
    study: dict[str, Any] = {
        "id": secrets.token_hex(8),
        **info,
        "task_names": {t.id: t.name or t.id for t in model.tasks},
        "created_at": ctx.clock.now().isoformat(),
        "created_by": actor,
        "created_by_name": actor_name or actor,
        "log_since": first.isoformat() if isinstance(first, datetime) else None,
        "log_cases": log_cases,
        "log_events": log.height,
        "settings": {"cases": cases, "replications": replications, "seed": seed},
        "params_yaml": dump_params(fitted.params),
        "fit_warnings": list(fitted.warnings),
        "validation": _clean(report.as_dict()),
        "trustworthy": report.trustworthy,
        "status": "fitted",
        "done": 0,
        "total": 0,
        "touched": time.time(),
        "proposals": [],
        "baseline": None,
        "published": None,
        "error": None,
    }
    _write(ctx.settings.data_dir, study)
    return study


# --- run the proposals ----------------------------------------------------------------------


def begin_run(data_dir: Path, study_id: str, *, actor: str) -> dict[str, Any]:
    """Mark the study running (the caller then starts :func:`run_proposals`).

    Raises:
        NotFound: unknown study.
        Conflict: already running, or already published.
    """
    study = load_study(data_dir, study_id)
    if study["status"] == "running":
        raise Conflict(
            "The proposals of this study are running already",
            message_zh="本研究的方案正在仿真，请稍候",
            code="simulation.study_running",
        )
    if study["published"]:
        raise Conflict(
            "This study's redesign is published already; start a new study",
            message_zh="本研究的方案已发布，如需再次研究请重新拟合",
            code="simulation.study_published",
        )
    study.update(status="running", done=0, total=0, error=None, run_by=actor, touched=time.time())
    _write(data_dir, study)
    return study


def _estimate(reps: Any, kpi: str) -> dict[str, Any]:
    est = reps.estimate(kpi)
    return cast(dict[str, Any], _clean({"mean": est.mean, "low": est.low, "high": est.high}))


def _clean(value: Any) -> Any:
    """JSON without NaN or infinities (they are unknown values: ``None``)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    return value


def _reps_dict(reps: Any) -> dict[str, Any]:
    return cast(
        dict[str, Any],
        _clean(
            {"runs": reps.runs, "seeds": reps.seeds, "events": reps.events, "seconds": reps.seconds}
        ),
    )


def _reps(data: dict[str, Any]) -> Any:
    from onewindow.simulation.engine import Replications

    nan = float("nan")
    runs = [{k: nan if v is None else float(v) for k, v in run.items()} for run in data["runs"]]
    return Replications(runs, list(data["seeds"]), int(data["events"]), float(data["seconds"]))


def run_proposals(platform: Platform, study_id: str) -> None:
    """Propose the redesigns that apply, simulate the baseline and each with replications
    on common random numbers, rank them; progress is written after each scenario. Never
    raises: a failure is written to the study for the page to show."""
    from onewindow.simulation.engine import compare_replications
    from onewindow.simulation.model import parse_model
    from onewindow.simulation.params import dump_params, parse_params
    from onewindow.simulation.redesign import evaluate, propose

    data_dir = platform.settings.data_dir
    study = load_study(data_dir, study_id)
    try:
        with platform.unit_of_work() as ctx:
            proc = catalog.get_process(ctx, study["process_id"])
            xml = proc.bpmn_xml.encode("utf-8")
            called = _called(ctx, xml)
        model = parse_model(xml, source=study["process_key"], called=called)
        params = parse_params(_yaml(study["params_yaml"]), source="fitted parameters")
        settings = study["settings"]
        proposals = propose(model, params, materials=study["materials"], seed=settings["seed"])

        def progress(done: int, total: int) -> None:
            study.update(done=done, total=total, touched=time.time())
            _write(data_dir, study)

        progress(0, 1 + len(proposals))
        ranking = evaluate(
            model,
            params,
            proposals,
            cases=settings["cases"],
            replications=settings["replications"],
            seed=settings["seed"],
            progress=progress,
        )
        study["baseline"] = {
            **_reps_dict(ranking.baseline),
            **{kpi: _estimate(ranking.baseline, kpi) for kpi in publish.KPIS},
        }
        rows = []
        for row in ranking.rows:
            prop = row.proposal
            changes = {}
            for kpi in publish.KPIS:
                _, rel = compare_replications(ranking.baseline, row.reps, kpi)
                changes[kpi] = _clean({"mean": rel.mean, "low": rel.low, "high": rel.high})
            rows.append(
                {
                    "key": prop.key,
                    "title_zh": prop.title_zh,
                    "title_en": prop.title_en,
                    "changes": prop.changes,
                    "assumptions": prop.assumptions,
                    "changes_zh": prop.changes_zh,
                    "assumptions_zh": prop.assumptions_zh,
                    "applied": prop.applied,
                    "bpmn": prop.bpmn.decode("utf-8"),
                    "params_yaml": dump_params(prop.params),
                    "reps": _reps_dict(row.reps),
                    "kpis": {kpi: _estimate(row.reps, kpi) for kpi in publish.KPIS},
                    "change": changes,
                }
            )
        study.update(proposals=rows, status="done", touched=time.time())
    except Exception as exc:  # noqa: BLE001 - the page must say the run failed, whatever it was
        if isinstance(exc, OneWindowError):
            study["error"] = [exc.message_zh, exc.message]
        else:
            study["error"] = ["仿真失败", f"{type(exc).__name__}: {exc}"]
        study.update(status="failed", touched=time.time())
    _write(data_dir, study)


def _yaml(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def proposal_of(study: dict[str, Any], key: str) -> dict[str, Any]:
    """Raises: NotFound: the study has no such proposal (or has not run yet)."""
    for row in study.get("proposals") or []:
        if row["key"] == key:
            return dict(row)
    raise NotFound(
        f"No proposal {key!r} in this study",
        message_zh="本研究没有该方案",
        code="simulation.proposal_unknown",
    )


# --- publish ----------------------------------------------------------------------------------


def may_publish(study: dict[str, Any], roles: frozenset[str], department: str | None) -> bool:
    """An admin, or the head of a department that works on the service."""
    return "admin" in roles or ("head" in roles and department in study["departments"])


def publish_from_study(
    ctx: Ctx,
    study_id: str,
    key: str,
    *,
    roles: frozenset[str],
    department: str | None,
    evaluate_after_weeks: int = 4,
    actor: str,
    actor_name: str | None = None,
) -> Prediction:
    """Publish proposal ``key`` of the study as the service's next process version, with
    its prediction (see :func:`publish.publish_redesign`); a study publishes once.

    Raises:
        PermissionDenied: neither an admin nor a head of a department on the service.
        NotFound: unknown study or proposal.
        Conflict: already published, or the service's process changed since the study.
    """
    from onewindow.kit.errors import PermissionDenied
    from onewindow.simulation.params import parse_params
    from onewindow.simulation.redesign import Proposal, RankedProposal

    data_dir = ctx.settings.data_dir
    study = load_study(data_dir, study_id)
    if not may_publish(study, roles, department):
        raise PermissionDenied(
            "Only the head of a department working on this service, or an admin, may publish "
            "a redesign; nothing was changed",
            message_zh="只有承办该事项的部门负责人或系统管理员可以发布流程再造方案；未做任何更改",
            code="simulation.publish_forbidden",
        )
    row = proposal_of(study, key)
    if study["published"]:
        raise Conflict(
            f"This study published {study['published']['key']} already "
            f"(process version {study['published']['version']}); nothing was changed",
            message_zh=f"本研究已发布过方案（流程版本 v{study['published']['version']}），"
            "未做任何更改",
            code="simulation.already_published",
        )
    item = catalog.get_service(ctx, study["service"])
    ctx.session.refresh(item, with_for_update=True)  # two publishers: the second waits, then sees
    if item.process_definition_id != study["process_id"]:
        current = catalog.get_process(ctx, item.process_definition_id)
        raise Conflict(
            f"{item.code} runs on process version {current.version} now, not the version "
            f"{study['process_version']} this study simulated; fit a new study. Nothing was "
            "changed",
            message_zh=f"该事项现已运行流程 v{current.version}，而本研究仿真的是 "
            f"v{study['process_version']}，请重新拟合；未做任何更改",
            code="simulation.process_changed",
        )
    params = parse_params(_yaml(row["params_yaml"]), source=f"proposal {key}")
    proposal = Proposal(
        row["key"],
        row["title_zh"],
        row["title_en"],
        row["bpmn"].encode("utf-8"),
        params,
        list(row["changes"]),
        list(row["assumptions"]),
        list(row["applied"]),
        changes_zh=list(row.get("changes_zh") or []),
        assumptions_zh=list(row.get("assumptions_zh") or []),
    )
    reps = _reps(row["reps"])
    ranked = RankedProposal(
        proposal,
        reps,
        reps.estimate("cycle_median_h"),
        reps.estimate("cycle_median_h"),
        reps.estimate("cycle_p90_h"),
        reps.estimate("trips_per_case"),
        reps.estimate("returns_per_case"),
    )
    since = study.get("log_since")
    prediction = publish.publish_redesign(
        ctx,
        study["service"],
        proposal,
        ranked,
        _reps(study["baseline"]),
        baseline_since=datetime.fromisoformat(since) if since else ctx.clock.now(),
        evaluate_after_weeks=evaluate_after_weeks,
        actor=actor,
    )
    version = catalog.get_process(ctx, prediction.to_process_id).version
    study["published"] = {
        "key": key,
        "prediction_id": prediction.id,
        "version": version,
        "by": actor,
        "by_name": actor_name or actor,
        "at": ctx.clock.now().isoformat(),
    }
    # Written before the request commits: should the commit fail, the study wrongly says
    # published and the head fits a new study — never a second, unrecorded publication.
    _write(data_dir, study)
    return prediction
