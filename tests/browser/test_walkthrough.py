"""End-to-end in a real headless Chromium (Debian's, never a downloaded browser).

Walks the front-desk intake, a reviewer's approval and the applicant's status page on a live
server filled with the demo city, saving a screenshot of every page under tests/artifacts/.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
COMPANY = "91350100M000100Y43"
PHONE = "13912345678"

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - reported by the skip below
    sync_playwright = None

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)


class Codes:
    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    def send(self, phone: str, code: str) -> None:
        self.sent[phone] = code


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LIVE_PLATFORM: dict[str, Platform] = {}


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[str, Codes]]:
    """A real server (uvicorn in a thread) on a database seeded with a week of the demo city."""
    import uvicorn

    from onewindow.api.app import create_app
    from onewindow.demo.generator import DemoOptions, seed_demo
    from onewindow.security import service as security

    platform = Platform.create(settings)
    seed_demo(
        platform,
        DemoOptions(weeks=1, seed=3, cases_per_day=8, start=date.today() - timedelta(days=7)),
        console=Console(quiet=True),
    )
    codes = Codes()
    security.set_sender(codes)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    LIVE_PLATFORM["platform"] = platform
    yield f"http://127.0.0.1:{port}", codes
    server.should_exit = True
    thread.join(10)
    security.set_sender(security.LogSender())
    platform.dispose()


@pytest.fixture
def page() -> Iterator[Page]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def sign_out(page: Page) -> None:
    page.context.clear_cookies()


def fill_service_form(page: Page) -> None:
    for el in page.query_selector_all("[name^='f_']"):
        tag = el.evaluate("e => e.tagName.toLowerCase()")
        kind = el.get_attribute("type") or ""
        if tag == "select":
            values = [
                o for o in el.eval_on_selector_all("option", "os => os.map(o => o.value)") if o
            ]
            if values:
                el.select_option(values[0])
        elif kind == "checkbox":  # a multi-choice field (经营范围): tick its first option
            if el.evaluate("e => e === e.form.querySelector(`[name='${e.name}']`)"):
                el.check()
        elif kind == "number":
            el.fill("100")
        elif kind == "date":
            el.fill("2026-12-31")
        else:
            el.fill("测试内容")


def fill_task_form(page: Page, decision: str = "approve") -> None:
    for el in page.query_selector_all("form[action^='/workbench/tasks/'] select[name^='f_']"):
        values = [o for o in el.eval_on_selector_all("option", "os => os.map(o => o.value)") if o]
        for preferred in ("true", decision):
            if preferred in values:
                el.select_option(preferred)
                break
        else:
            if values:
                el.select_option(values[0])


def work_task(page: Page, base: str, username: str, case_number: str, shot_name: str) -> None:
    sign_in(page, base, username)
    page.goto(f"{base}/workbench")
    row = page.locator("tr", has_text=case_number).first
    row.locator("a[href^='/workbench/tasks/']").first.click()
    page.wait_for_load_state("networkidle")
    fill_task_form(page)
    shot(page, shot_name)
    page.click("button[name=action][value=approve]")
    page.wait_for_load_state("networkidle")
    sign_out(page)


def test_front_desk_reviewer_and_applicant(
    live: tuple[str, Codes], page: Page, tmp_path: Path
) -> None:
    base, codes = live
    page.goto(base + "/")
    shot(page, "01_landing")

    # Front desk: a business-licence application taken once, with its materials.
    sign_in(page, base, "center_qian")
    page.goto(f"{base}/desk?service=SAMR-001")
    page.select_option("#kind", "business")
    page.fill("#id_number", COMPANY)
    page.fill("#applicant_name", "闽江贸易有限公司")
    page.fill("#phone", PHONE)
    page.keyboard.press("Tab")
    page.wait_for_load_state("networkidle")
    for el in page.query_selector_all("input[type=file]"):
        name = el.get_attribute("name") or "file"
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(b"%PDF-1.4\n" + name.encode() + b"\n%%EOF\n")
        el.set_input_files(str(pdf))
    fill_service_form(page)
    shot(page, "02_desk_form")
    page.click("form button.btn-primary[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/desk/receipt/" in page.url, page.content()[:2000]
    case_number = page.url.rstrip("/").rsplit("/", 1)[-1]
    assert re.fullmatch(r"OW\d{16}", case_number)
    assert "110105" not in page.content()  # receipts mask identifiers; this one is a company
    shot(page, "03_receipt")
    sign_out(page)

    # The window accepts, then market regulation approves in its own workbench.
    work_task(page, base, "center_sun", case_number, "04_task_window_accept")
    sign_in(page, base, "samr_wang")
    page.goto(f"{base}/workbench")
    assert case_number in page.content()
    shot(page, "05_workbench_samr")
    sign_out(page)
    work_task(page, base, "samr_wang", case_number, "06_task_samr_review")

    # Another department does not even see that the task exists.
    sign_in(page, base, "fire_deng")
    page.goto(f"{base}/workbench")
    assert case_number not in page.content()
    sign_out(page)

    # The applicant signs in with a one-time code and follows the case.
    page.goto(f"{base}/portal/login")
    page.fill("#phone", PHONE)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("#code", codes.sent[PHONE])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert case_number in page.content()
    shot(page, "07_portal")
    page.goto(f"{base}/portal/cases/{case_number}")
    body = page.content()
    assert "营业执照核准" in body  # the SAMR step is on the timeline
    shot(page, "08_portal_case")
    sign_out(page)

    # The analyst's dashboard and the administrator's pages, filled with the demo city.
    sign_in(page, base, "center_li")
    page.goto(f"{base}/dashboard")
    shot(page, "09_dashboard")
    sign_out(page)
    sign_in(page, base, "center_zhou")
    for path, name in (
        ("/admin", "10_admin"),
        ("/admin/services", "11_admin_services"),
        ("/admin/tokens", "12_admin_tokens"),
    ):
        page.goto(base + path)
        assert page.locator("h1, h2").count() > 0
        shot(page, name)


def test_pages_load_nothing_from_the_network(live: tuple[str, Codes], page: Page) -> None:
    base, _ = live
    outside: list[Any] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    page.goto(base + "/")
    sign_in(page, base, "center_qian")
    page.goto(base + "/desk?service=SAMR-001")
    assert outside == []


def _sign_in_applicant(page: Page, base: str, codes: Codes, phone: str) -> None:
    page.goto(f"{base}/portal/login")
    page.fill("#phone", phone)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("#code", codes.sent[phone])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _taken_and_accepted(platform: Platform, phone: str) -> str:
    """A business-licence application taken at the window and accepted, for SAMR to review."""
    from onewindow.catalog import service as catalog
    from onewindow.intake.schemas import ApplicantIn, Upload
    from onewindow.workflow import flows
    from onewindow.workflow import service as workflow

    def submit(ctx: Any) -> str:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [Upload(m.code, f"{m.code}.pdf", b"%PDF-1.4\n%%EOF\n") for m in service.materials]
        form = {
            f["name"]: (
                f["options"][0]
                if f.get("options")
                else 100
                if f["type"] in ("number", "integer")
                else "临江"
            )
            for f in service.form_fields
            if f.get("required")
        }
        sub = flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, "闽江贸易有限公司", phone),
            channel="window",
            form=form,
            uploads=uploads,
            actor="center_qian",
        )
        (accept,) = sub.outcome.created
        workflow.complete_task(
            ctx, accept.id, {"decision": "approve"}, actor=catalog.get_staff(ctx, "center_qian")
        )
        return sub.application.number

    return platform.run(submit)


def _open_task(page: Page, base: str, case_number: str) -> None:
    page.goto(f"{base}/workbench")
    page.locator("tr", has_text=case_number).first.locator(
        "a[href^='/workbench/tasks/']"
    ).first.click()
    page.wait_for_load_state("networkidle")


def test_refusal_reasons_and_supplement_items_reach_the_applicant(
    live: tuple[str, Codes], page: Page
) -> None:
    base, codes = live
    phone = "13912340000"
    platform = LIVE_PLATFORM["platform"]
    refused, returned = _taken_and_accepted(platform, phone), _taken_and_accepted(platform, phone)
    reason = "申请的企业名称与本机关已登记的同行业企业名称相同，请更换字号后重新申请。"

    sign_in(page, base, "samr_wang")
    _open_task(page, base, refused)
    page.click("details.refusal summary")
    page.fill("#reason", reason)
    page.select_option("#legal_basis", "name_conflict")
    page.click("button[name=action][value=reject]")  # not confirmed yet: refused, input kept
    page.wait_for_load_state("networkidle")
    assert "请勾选确认" in page.content()
    assert page.input_value("#reason") == reason
    page.check("input[name=confirm_refusal]")
    shot(page, "13_task_refusal")
    page.click("button[name=action][value=reject]")
    page.wait_for_load_state("networkidle")
    assert "/workbench" in page.url

    _open_task(page, base, returned)
    page.check("input[name=missing][value=articles_of_association]")
    page.check("input[name=missing][value=id_card]")
    page.fill("#f_comment", "章程须全体股东签字；身份证复印件不清晰")
    page.click("button[name=action][value=send_back]")
    page.wait_for_load_state("networkidle")
    sign_out(page)

    _sign_in_applicant(page, base, codes, phone)
    page.goto(f"{base}/portal/cases/{refused}")
    body = page.content()
    assert reason in body
    assert "企业名称登记管理规定" in body
    assert "行政复议" in body
    assert "不予行政许可决定书" in body  # the decision document is listed
    shot(page, "14_portal_refused")
    page.goto(f"{base}/portal/cases/{returned}")
    body = page.content()
    assert "公司章程" in body
    assert "法定代表人身份证" in body
    assert "章程须全体股东签字" in body
    assert "补正材料通知书" in body
    # only the two materials asked for can be uploaded
    assert page.locator("input[type=file]").count() == 2
    shot(page, "15_portal_supplement")
