"""What the front desk's pages compute without a request: service search, form values."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import FormData

from onewindow.catalog.models import ServiceItem

MULTI_SEPARATOR = "；"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace(" ", "")


def search_services(services: Sequence[ServiceItem], query: str) -> list[ServiceItem]:
    """Services whose code or name (either language) holds every word of ``query``."""
    words = [_fold(w) for w in query.split() if w.strip()]
    if not words:
        return list(services)
    out = []
    for s in services:
        hay = _fold(f"{s.code} {s.name_zh} {s.name_en}")
        if all(w in hay for w in words):
            out.append(s)
    return out


def field_value(form: FormData, spec: dict[str, Any]) -> str:
    """A form field's value as typed; a multi-choice field's ticked options joined by ``；``
    (the form's own options decide what is valid: ``intake.validate_form``)."""
    name = f"f_{spec['name']}"
    if spec.get("type") == "multi":
        ticked = [str(v).strip()[:200] for v in form.getlist(name) if isinstance(v, str)]
        return MULTI_SEPARATOR.join(v for v in ticked if v)
    value = form.get(name)
    return value.strip()[:2000] if isinstance(value, str) else ""


def chosen(value: str) -> set[str]:
    """The options a multi-choice value holds (for re-rendering the ticks)."""
    return {v for v in value.split(MULTI_SEPARATOR) if v}
