"""Applying online keeps the files chosen when the form comes back with an error: they are
staged for the signed-in applicant only (another applicant holding the key sees and claims
nothing), can be removed, and are cleaned up when abandoned — the front desk's staging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from onewindow import worker
from onewindow.intake import service as intake
from onewindow.intake import staging
from onewindow.intake.models import StagedUpload
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.web.portal_apply import KEEP_FORMS, staged_by

from .helpers import PERSON, pdf
from .portal_support import OTHER_PERSON, OTHER_PHONE, PHONE, closed_case, running_case
from .test_portal_pages import _citizen
from .test_web_pages import Codes, codes, hidden

__all__ = ["codes"]

PNG = b"\x89PNG\r\n\x1a\n" + b"1" * 32
FIELDS = {"f_applicant_name": "张伟", "f_id_number": PERSON, "f_mobile": PHONE}


def _staged(city: Platform) -> list[tuple[str, str, str]]:
    with city.unit_of_work() as ctx:
        rows = ctx.session.scalars(select(StagedUpload).order_by(StagedUpload.id)).all()
        return [(r.staged_by, r.material_code, r.filename) for r in rows]


def _count(city: Platform) -> int:
    with city.unit_of_work() as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(StagedUpload)) or 0)


def _post(client: Any, csrf: str, files: dict[str, Any] | None = None, **data: str) -> Any:
    return client.post(
        "/portal/apply/HRSS-001",
        data={"csrf_token": csrf, "kind": "person"} | data,
        files=files or {},
        follow_redirects=False,
    )


def test_a_failed_application_keeps_its_files_for_this_applicant_only(
    client: Any, city: Platform, codes: Codes
) -> None:
    closed_case(city)  # 张伟's ID card is on file: two files are asked for
    running_case(city, OTHER_PHONE, OTHER_PERSON, "李四")  # another applicant, another phone
    csrf = _citizen(client, codes)
    batch = hidden(client.get("/portal/apply/HRSS-001").text, "staging")
    assert len(batch) >= 16
    # One error (the bank is not given) and both files chosen: nothing is taken, both kept.
    r = _post(
        client,
        csrf,
        {
            "file_card_application": ("登记表.pdf", pdf("form"), "application/pdf"),
            "file_photo": ("照片.png", PNG, "image/png"),
        },
        id_number=PERSON,
        applicant_name="张伟",
        staging=batch,
        **FIELDS,
    )
    assert r.status_code == 422
    assert "金融功能合作银行：必填" in r.text
    assert hidden(r.text, "staging") == batch
    assert r.text.count(">已暂存<") == 2
    assert "登记表.pdf" in r.text
    assert "照片.png" in r.text
    assert "已选择的 2 份文件已为您保留" in r.text
    assert "项必要材料" not in r.text  # the kept files count as handed in
    assert _staged(city) == [
        (staged_by(PHONE), "card_application", "登记表.pdf"),
        (staged_by(PHONE), "photo", "照片.png"),
    ]

    # Another applicant holding the key (copied from the page) sees and claims nothing …
    other = _citizen(client, codes, OTHER_PHONE)
    r = _post(
        client,
        other,
        {"file_photo": ("mine.png", PNG, "image/png")},
        id_number=OTHER_PERSON,
        applicant_name="李四",
        staging=batch,
        f_applicant_name="李四",
        f_id_number=OTHER_PERSON,
        f_mobile=OTHER_PHONE,
        f_bank_name="中国银行",
    )
    assert r.status_code == 422
    assert "登记表.pdf" not in r.text
    assert "照片.png" not in r.text
    assert "项必要材料" in r.text
    # … and their own file goes under a key of their own, never mixed with the first.
    assert hidden(r.text, "staging") != batch
    r = client.post(
        "/portal/apply/staged/remove",
        data={"staging": batch, "material": "photo", "service": "HRSS-001"},
        headers={"X-CSRF-Token": other, "HX-Request": "true"},
    )
    assert r.status_code == 200  # nothing to remove for them: the first applicant's stays
    with city.unit_of_work() as ctx:
        assert staging.staged(ctx, batch, actor=staged_by(OTHER_PHONE)) == []
        assert len(staging.staged(ctx, batch, actor=staged_by(PHONE))) == 2
    # Staff holding the key see nothing of it either.
    with city.unit_of_work() as ctx:
        assert staging.staged(ctx, batch, actor="center_qian") == []

    # The first applicant resubmits only the fix: the case is taken with both files.
    csrf = _citizen(client, codes)
    r = _post(
        client,
        csrf,
        id_number=PERSON,
        applicant_name="张伟",
        staging=batch,
        f_bank_name="中国银行",
        **FIELDS,
    )
    assert r.status_code == 303, r.text
    number = r.headers["location"].split("/portal/cases/")[1].split("?")[0]
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        files = {
            m.material_code: (m.filename, intake.material_content(ctx, m.blob_sha256))
            for m in app.materials
            if not m.reused
        }
    assert files == {"card_application": ("登记表.pdf", pdf("form")), "photo": ("照片.png", PNG)}
    assert [s for s in _staged(city) if s[0] == staged_by(PHONE)] == []  # taken: gone


def test_a_kept_file_is_removed_and_abandoned_ones_are_cleaned_up(
    client: Any, city: Platform, codes: Codes, clock: ManualClock
) -> None:
    csrf = _citizen(client, codes)
    batch = hidden(client.get("/portal/apply/HRSS-001").text, "staging")
    files = {
        "file_photo": ("照片.png", PNG, "image/png"),
        "file_card_application": ("form.exe", b"MZ\x90\x00", "application/octet-stream"),
    }
    r = _post(client, csrf, files, id_number=PERSON, applicant_name="", staging=batch)
    assert r.status_code == 422
    assert r.text.count(">已暂存<") == 1  # the refused file is not kept, the good one is
    assert _count(city) == 1
    r = client.post(
        "/portal/apply/staged/remove",
        data={"staging": batch, "material": "photo", "service": "HRSS-001"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    assert "已移除暂存文件" in r.text
    assert _count(city) == 0
    r = client.post(
        "/portal/apply/staged/remove",
        data={"staging": "../x' or 1=1", "material": "photo", "service": "HRSS-001"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422

    r = _post(client, csrf, files, id_number=PERSON, applicant_name="", staging=batch)
    assert _count(city) == 1
    worker.run_once(city)
    assert _count(city) == 1  # fresh: kept
    clock.advance(staging.STAGING_TTL + timedelta(minutes=1))
    worker.run_once(city)
    assert _count(city) == 0  # abandoned: gone
    r = _post(client, csrf, id_number=PERSON, applicant_name="", staging=batch)
    assert r.status_code == 422
    assert ">已暂存<" not in r.text


def test_an_applicant_keeps_the_files_of_a_few_forms_at_most(
    client: Any, city: Platform, codes: Codes, clock: ManualClock
) -> None:
    csrf = _citizen(client, codes)
    photo = {"file_photo": ("照片.png", PNG, "image/png")}
    batches = []
    for _ in range(KEEP_FORMS + 1):  # one more form than an applicant keeps
        batch = hidden(client.get("/portal/apply/HRSS-001").text, "staging")
        r = _post(client, csrf, photo, id_number=PERSON, applicant_name="", staging=batch)
        assert r.status_code == 422
        batches.append(batch)
        clock.advance(timedelta(minutes=1))
    with city.unit_of_work() as ctx:
        kept = [b for b in batches if staging.staged(ctx, b, actor=staged_by(PHONE))]
    assert kept == batches[1:]  # the form left longest ago lost its files
    assert _count(city) == KEEP_FORMS
    # Coming back to the oldest kept form makes it the newest: the next new form drops the
    # one left longest ago since.
    clock.advance(timedelta(minutes=1))
    r = _post(client, csrf, photo, id_number=PERSON, applicant_name="", staging=batches[1])
    assert r.text.count(">已暂存<") == 1
    clock.advance(timedelta(minutes=1))
    batch = hidden(client.get("/portal/apply/HRSS-001").text, "staging")
    _post(client, csrf, photo, id_number=PERSON, applicant_name="", staging=batch)
    with city.unit_of_work() as ctx:
        kept = {b for b in [*batches, batch] if staging.staged(ctx, b, actor=staged_by(PHONE))}
    assert kept == {batches[1], batches[3], batch}
    assert _count(city) == KEEP_FORMS
