"""Every key the training pages ask for exists in both languages (a missing one would show
as the bare key on the page)."""

from __future__ import annotations

import re
from pathlib import Path

from onewindow.training.exams import KINDS
from onewindow.training.profile import METRICS
from onewindow.web.i18n import MESSAGES

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "web" / "templates"
PAGES = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "training" / "pages.py"


def test_training_keys_exist_in_both_languages() -> None:
    keys: set[str] = set()
    for template in TEMPLATES.glob("training_*.html"):
        keys |= set(re.findall(r"t\('([a-z0-9_]+)'", template.read_text(encoding="utf-8")))
    keys |= set(re.findall(r'"(trp_[a-z0-9_]+)"', PAGES.read_text(encoding="utf-8")))
    keys |= {f"trp_kind_{k}" for k in KINDS} | {f"tr_metric_{m}" for m in METRICS}
    keys |= {"tr_plan_status_proposed", "tr_plan_status_approved"}
    keys |= {f"trp_done_{d}" for d in ("proposed", "approved", "assigned")}
    assert len(keys) > 60
    keys = {k for k in keys if not k.endswith("_")}  # prefixes of the keys listed above
    missing = sorted(k for k in keys if k not in MESSAGES)
    assert missing == []
    for key in keys:
        zh, en = MESSAGES[key]
        assert zh.strip(), key
        assert en.strip(), key
        assert not re.search(r"[\u4e00-\u9fff]", en), (key, en)  # no Chinese left in English
