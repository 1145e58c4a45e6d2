"""Audit pages (审计): the ledger by kind, case, person and period; signed tree heads; a
one-click verification with its progress; an inclusion proof of any entry to download; the
history of unmasking and of shared-data access.

The verification runs in a thread of its own and writes its progress to a small JSON file
under the data directory, which the page polls (htmx). A file rather than memory: with the
pre-fork server the poll may reach another process than the one that started the run.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import threading
import time as time_module
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from onewindow.datahub import service as datahub
from onewindow.kit.errors import NotFound, ValidationFailed
from onewindow.kit.http import PlatformDep
from onewindow.kit.platform import Ctx, Platform
from onewindow.security import ledger
from onewindow.security.authz import require_page
from onewindow.security.schemas import Principal
from onewindow.web.pages import page, render_html
from onewindow.web.routes import PageCtx, PageRoute, _zone

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Auditor = Annotated[Principal, require_page("ledger.read")]

PAGE_SIZE = 50
KINDS = tuple(k.value for k in ledger.EntryKind)
_RUN_ID = re.compile(r"^[0-9a-f]{16}$")


def _tabs() -> list[tuple[str, str, str]]:
    return [
        ("ledger", "au_tab_ledger", "/audit"),
        ("heads", "au_tab_heads", "/audit/heads"),
        ("privacy", "au_tab_privacy", "/audit/privacy"),
    ]


def _page(
    request: Request, ctx: Ctx, who: Principal, template: str, tab: str, **context: Any
) -> Response:
    return page(request, template, principal=who, zone=_zone(ctx), tab=tab, tabs=_tabs(), **context)


def _day(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"{name}: not a date ({raw})", message_zh=f"日期无效：{raw}", code="audit.bad_date"
        ) from None


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# --- the ledger -------------------------------------------------------------------------------


@router.get("/audit")
def ledger_page(
    request: Request,
    ctx: PageCtx,
    who: Auditor,
    kind: Annotated[str, Query(max_length=64)] = "",
    case: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000_000)] = 1,
    verify: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    if kind and kind not in KINDS:
        raise ValidationFailed(
            f"Unknown kind {kind}", message_zh=f"未知的条目类型：{kind}", code="audit.bad_kind"
        )
    zone = _zone(ctx)
    start, end = _day(from_, "from"), _day(to, "to")
    items, total = ledger.browse(
        ctx,
        kind=kind or None,
        case=case.strip() or None,
        actor=actor.strip() or None,
        since=datetime.combine(start, time(), tzinfo=zone) if start else None,
        until=datetime.combine(end + timedelta(days=1), time(), tzinfo=zone) if end else None,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    for item in items:
        item["at"] = _parse_at(item["entry"])
        item["details"] = {
            k: v for k, v in item["entry"].items() if k not in ("kind", "at", "actor")
        }
    run = _read_run(ctx.settings.data_dir, verify) if _RUN_ID.match(verify) else None
    return _page(
        request,
        ctx,
        who,
        "audit_ledger.html",
        "ledger",
        items=items,
        total=total,
        kinds=KINDS,
        kind=kind,
        case=case,
        actor=actor,
        from_=from_,
        to=to,
        page_no=page_no,
        pages=_pages(total),
        size=ledger.size(ctx),
        head=ledger.latest_tree_head(ctx),
        run=run,
    )


def _parse_at(entry: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(entry.get("at", "")).replace("Z", "+00:00"))
    except ValueError:
        return None


@router.get("/audit/entries/{index}/proof.json")
def proof(ctx: PageCtx, who: Auditor, index: int) -> Response:
    """Entry ``index`` with its inclusion proof to the latest signed head that covers it;
    ``onewindow ledger verify-proof FILE`` checks it offline."""
    if not 0 <= index < 2**62:
        raise NotFound(f"No ledger entry {index}", message_zh=f"账本条目 {index} 不存在")
    bundle = ledger.inclusion_bundle(ctx, index)
    return Response(
        json.dumps(bundle, ensure_ascii=False, indent=2) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="ledger-entry-{index}-proof.json"',
            "Cache-Control": "no-store",
        },
    )


# --- tree heads -------------------------------------------------------------------------------


@router.get("/audit/heads")
def heads(
    request: Request,
    ctx: PageCtx,
    who: Auditor,
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> Response:
    items, total = ledger.tree_heads(ctx, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    for h in items:
        h["signed_at"] = datetime.fromtimestamp(h["timestamp"] / 1000, tz=_zone(ctx))
    return _page(
        request,
        ctx,
        who,
        "audit_heads.html",
        "heads",
        items=items,
        total=total,
        page_no=page_no,
        pages=_pages(total),
        size=ledger.size(ctx),
    )


@router.get("/audit/public-key.pem")
def public_key(platform: PlatformDep, who: Auditor) -> Response:
    return Response(
        ledger.public_key_pem(platform.settings),
        media_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="ledger-public-key.pem"'},
    )


# --- verification with progress ---------------------------------------------------------------


def _runs_dir(data_dir: Path) -> Path:
    return data_dir / "ledger-verify"


RUN_KEPT_SECONDS = 24 * 3600


def _prune_runs(data_dir: Path) -> None:
    """Forget runs older than a day: each is a few hundred bytes, but they would pile up."""
    cutoff = time_module.time() - RUN_KEPT_SECONDS
    for old in _runs_dir(data_dir).glob("*.json"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue  # another process pruned it first


def _write_run(data_dir: Path, run_id: str, state: dict[str, Any]) -> None:
    folder = _runs_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{run_id}.tmp"
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, folder / f"{run_id}.json")  # readers never see half a file


def _read_run(data_dir: Path, run_id: str) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(
            (_runs_dir(data_dir) / f"{run_id}.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    state["id"] = run_id
    return state


def _chunk_bits(entries: int) -> int:
    """Chunks small enough that the bar moves about twenty times, within the checker's range."""
    if entries <= 1:
        return 6
    return max(6, min(14, math.ceil(math.log2(entries / 20)) if entries > 20 else 6))


def _verify_in_thread(platform: Platform, run_id: str, actor: str, total: int) -> None:
    data_dir = platform.settings.data_dir
    state: dict[str, Any] = {"status": "running", "done": 0, "total": total, "actor": actor}

    def progress(done: int) -> None:
        state["done"] = done
        _write_run(data_dir, run_id, state)

    try:
        with platform.unit_of_work() as ctx:
            verdict = ledger.verify_stored(
                ctx, workers=1, bits=_chunk_bits(total), progress=progress
            )
        state.update(status="done", verdict=verdict.as_json(), done=max(state["done"], total))
    except Exception as exc:  # noqa: BLE001 - the page must say the run failed, whatever it was
        state.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    _write_run(data_dir, run_id, state)


@router.post("/audit/verify")
def start_verify(request: Request, ctx: PageCtx, platform: PlatformDep, who: Auditor) -> Response:
    run_id = secrets.token_hex(8)
    total = ledger.size(ctx)
    _prune_runs(platform.settings.data_dir)
    _write_run(
        platform.settings.data_dir,
        run_id,
        {"status": "running", "done": 0, "total": total, "actor": who.name},
    )
    ctx.session.rollback()  # nothing written; free the connection before the thread reads
    threading.Thread(
        target=_verify_in_thread,
        args=(platform, run_id, who.name, total),
        name=f"ledger-verify-{run_id}",
        daemon=True,
    ).start()
    if request.headers.get("hx-request"):
        return _run_fragment(request, ctx, who, run_id)
    return RedirectResponse(f"/audit?verify={run_id}", status_code=303)


def _run_fragment(request: Request, ctx: Ctx, who: Principal, run_id: str) -> Response:
    run = _read_run(ctx.settings.data_dir, run_id)
    if run is None:
        raise NotFound("No such verification run", message_zh="没有这次校验", code="audit.no_run")
    html = render_html(request, "audit_verify.html", principal=who, zone=_zone(ctx), run=run)
    return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})


@router.get("/audit/verify/{run_id}")
def verify_status(request: Request, ctx: PageCtx, who: Auditor, run_id: str) -> Response:
    if not _RUN_ID.match(run_id):
        raise NotFound("No such verification run", message_zh="没有这次校验", code="audit.no_run")
    return _run_fragment(request, ctx, who, run_id)


# --- unmasking and data access ----------------------------------------------------------------


@router.get("/audit/privacy")
def privacy(
    request: Request,
    ctx: PageCtx,
    who: Auditor,
    unmask_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    access_page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    unmasked, unmasked_total = ledger.browse(
        ctx,
        kind=ledger.EntryKind.FIELD_UNMASKED.value,
        limit=PAGE_SIZE,
        offset=(unmask_page - 1) * PAGE_SIZE,
    )
    for item in unmasked:
        item["at"] = _parse_at(item["entry"])
    everyone = bool(who.roles & {"auditor", "admin"}) or who.department_code is None
    reads, reads_total = datahub.access_log_for(
        ctx,
        None if everyone else who.department_code,
        limit=PAGE_SIZE,
        offset=(access_page - 1) * PAGE_SIZE,
        query=q.strip() or None,
    )
    return _page(
        request,
        ctx,
        who,
        "audit_privacy.html",
        "privacy",
        unmasked=unmasked,
        unmasked_total=unmasked_total,
        unmask_page=unmask_page,
        unmask_pages=_pages(unmasked_total),
        reads=reads,
        reads_total=reads_total,
        access_page=access_page,
        access_pages=_pages(reads_total),
        q=q,
    )
