"""The analyst's /feedback page lists topic hotspots found in the platform's own tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from onewindow.feedback import service as feedback
from onewindow.kit.platform import Ctx, Platform

from .test_api_support import staff as signed_in

ESTATE = (
    "阳光花园污水横流，臭味熏天，希望尽快处理。",
    "我住在阳光花园，小区门口下水道堵塞，污水溢到路面。",
    "阳光花园化粪池满了，污水流得到处都是。",
    "阳光花园3号楼旁边污水管破裂，整栋楼都是臭味。",
)
OTHER = ("社保卡丢了怎么补办？", "个税汇算清缴在哪里办理？", "东街口的红绿灯坏了。")


def test_feedback_page_shows_the_estate_topic(client: Any, city: Platform) -> None:
    def load(ctx: Ctx) -> None:
        now = ctx.clock.now()
        rows = [
            {"id": f"h{k}", "text": text, "created_at": (now - timedelta(days=k + 1)).isoformat()}
            for k, text in enumerate(ESTATE + OTHER)
        ]
        report = feedback.import_tickets(ctx, rows, source="hotline-2026", actor="test")
        assert report.imported == len(rows), report.problems

    city.run(load)
    topics = city.run(lambda ctx: feedback.topic_report(ctx))
    (estate,) = topics["topics"]
    assert estate["place"] == "阳光花园"
    assert estate["theme"] == "污水黑臭"
    assert estate["size"] == len(ESTATE)

    page = signed_in(client, "center_li").client.get("/feedback")
    assert page.status_code == 200
    html = page.text
    assert 'id="topics"' in html
    assert "阳光花园" in html
    assert "污水黑臭" in html
    assert ' style="' not in html  # the CSP forbids inline styles
