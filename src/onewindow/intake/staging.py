"""Staged uploads: files chosen on a submission that came back with errors (the front desk's
intake form and the portal's online application; table ``desk_staged_uploads``).

A form carries a random ``batch`` key. When a submission fails validation, every file that
passed its own checks is staged under that key for the user who chose it (``actor``: a
clerk's username, or ``applicant:<phone>``; nobody else finds it), bytes in the database so
any server behind the load balancer finds them, and the form comes back showing them as
attached. The resubmission reuses them; taking the application deletes them, and the worker
deletes what nobody came back for after ``STAGING_TTL``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from onewindow.catalog.models import ServiceItem
from onewindow.intake import repository as repo
from onewindow.intake.models import StagedUpload
from onewindow.intake.schemas import Upload
from onewindow.intake.service import check_upload, safe_filename
from onewindow.kit.errors import ValidationFailed
from onewindow.kit.platform import Ctx

# An abandoned form (the applicant left, the clerk closed the tab) is forgotten after this.
STAGING_TTL = timedelta(hours=4)
_BATCH = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_batch() -> str:
    return secrets.token_urlsafe(18)


def check_batch(batch: str) -> str:
    """Raises: ValidationFailed for a key that no form of ours made."""
    if not _BATCH.match(batch):
        raise ValidationFailed(
            "Not a staging key of a form",
            message_zh="暂存编号无效",
            code="staging.invalid_batch",
        )
    return batch


def own_batch(ctx: Ctx, batch: str, *, actor: str) -> str:
    """``batch`` if ``actor`` may stage under it, else a new key: a key someone else staged
    under (copied from their form) never mixes two users' files, nor collides with theirs."""
    if repo.staged_by_others(ctx.session, batch, actor):
        return new_batch()
    return batch


def _live(ctx: Ctx, rows: Sequence[StagedUpload]) -> list[StagedUpload]:
    cutoff = ctx.clock.now() - STAGING_TTL
    return [r for r in rows if r.staged_at >= cutoff]


def staged(ctx: Ctx, batch: str, *, actor: str) -> list[StagedUpload]:
    """The user's staged files of one form (another user's key finds nothing)."""
    if not batch or not _BATCH.match(batch):
        return []
    return _live(ctx, repo.staged_uploads(ctx.session, batch, actor))


def stage(
    ctx: Ctx,
    service: ServiceItem,
    batch: str,
    uploads: Sequence[Upload],
    *,
    actor: str,
    keep_forms: int | None = None,
) -> list[StagedUpload]:
    """Keep uploads that passed their checks; a new file for a material replaces the old one.

    Each file is bounded by ``check_upload`` (size, type) and a form keeps one a material.
    ``keep_forms`` bounds how many forms' files ``actor`` keeps at once: staging for one
    more drops those of the forms staged least recently.

    Raises:
        ValidationFailed / MaterialRejected: a bad key, or an upload ``check_upload`` refuses.
    """
    check_batch(batch)
    now = ctx.clock.now()
    have = {r.material_code: r for r in repo.staged_uploads(ctx.session, batch, actor)}
    for up in uploads:
        ctype = check_upload(ctx, service, up)
        row = have.get(up.material_code)
        if row is None:
            row = StagedUpload(
                batch=batch, staged_by=actor, material_code=up.material_code, staged_at=now
            )
            ctx.session.add(row)
            have[up.material_code] = row
        row.service_code = service.code
        row.filename = safe_filename(up.filename)
        row.content_type = ctype
        row.size = len(up.content)
        row.content = up.content
        row.staged_at = now
    ctx.session.flush()
    if keep_forms is not None:
        _drop_older_forms(ctx, batch, actor=actor, keep=keep_forms)
    return staged(ctx, batch, actor=actor)


def _drop_older_forms(ctx: Ctx, batch: str, *, actor: str, keep: int) -> None:
    rows = repo.staged_uploads_of(ctx.session, actor)
    last: dict[str, tuple[datetime, int]] = {}  # form -> when it was last staged
    for r in rows:
        last[r.batch] = max(last.get(r.batch, (r.staged_at, r.id)), (r.staged_at, r.id))
    others = sorted((b for b in last if b != batch), key=last.__getitem__, reverse=True)
    kept = {batch, *others[: max(keep - 1, 0)]}  # the form staged just now always stays
    for r in rows:
        if r.batch not in kept:
            ctx.session.delete(r)
    ctx.session.flush()


def as_uploads(
    ctx: Ctx, service: ServiceItem, batch: str, *, actor: str, skip: set[str]
) -> list[Upload]:
    """The staged files of this service's form as uploads, except the materials in ``skip``
    (a new file was chosen for them)."""
    return [
        Upload(r.material_code, r.filename, r.content)
        for r in staged(ctx, batch, actor=actor)
        if r.service_code == service.code and r.material_code not in skip
    ]


def unstage(ctx: Ctx, batch: str, material_code: str, *, actor: str) -> bool:
    """The user removes one staged file; False when there was none."""
    for row in staged(ctx, batch, actor=actor):
        if row.material_code == material_code:
            ctx.session.delete(row)
            ctx.session.flush()
            return True
    return False


def discard(ctx: Ctx, batch: str, *, actor: str) -> int:
    """Forget a form's staged files (its application was taken)."""
    rows = repo.staged_uploads(ctx.session, batch, actor) if _BATCH.match(batch) else []
    for row in rows:
        ctx.session.delete(row)
    ctx.session.flush()
    return len(rows)


def purge_abandoned(ctx: Ctx) -> int:
    """Delete staged files older than ``STAGING_TTL``; returns how many (run by the worker)."""
    return repo.delete_staged_before(ctx.session, ctx.clock.now() - STAGING_TTL)
