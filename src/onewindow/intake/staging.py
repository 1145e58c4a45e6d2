"""The front desk's staged uploads: files chosen on a submission that came back with errors.

A desk form carries a random ``batch`` key. When a submission fails validation, every file
that passed its own checks is staged under that key (bytes in the database, so any server
behind the load balancer finds them), and the form comes back showing them as attached. The
resubmission reuses them; taking the application deletes them, and the worker deletes what
nobody came back for after ``STAGING_TTL``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import timedelta

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
            "Not a staging key of a desk form",
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
    """The clerk's staged files of one form (another clerk's key finds nothing)."""
    if not batch or not _BATCH.match(batch):
        return []
    return _live(ctx, repo.staged_uploads(ctx.session, batch, actor))


def stage(
    ctx: Ctx, service: ServiceItem, batch: str, uploads: Sequence[Upload], *, actor: str
) -> list[StagedUpload]:
    """Keep uploads that passed their checks; a new file for a material replaces the old one.

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
    return staged(ctx, batch, actor=actor)


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
    """The clerk removes one staged file; False when there was none."""
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
