"""Text hygiene for every route: no control characters in any text a client sends.

An app-wide dependency, so it runs on every route (API and pages) after the body is parsed
and before the route's own dependencies (sign-in included): path and query parameters,
form fields and file names, and every string and key of a JSON body. The 422 names the
field (``body.data.company_name``, ``query.q``, ``applicant_name``).
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from onewindow.api.units import SAFE_METHODS
from onewindow.kit.text import check_fields, check_value

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


async def refuse_control_characters(request: Request) -> None:
    """Raises ``kit.text.ControlCharacter`` (422) naming the first offending field."""
    check_fields((f"path.{k}", v) for k, v in request.path_params.items())
    check_fields((f"query.{k}", v) for k, v in request.query_params.multi_items())
    if request.method in SAFE_METHODS:
        return
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(_FORMS):
        form = await request.form()
        for name, value in form.multi_items():
            check_value(name, "form field name")
            if isinstance(value, UploadFile):
                check_value(value.filename or "", f"{name}.filename")
            else:
                check_value(value, name)
    elif "json" in content_type:
        try:
            body = await request.json()
        except ValueError:  # not JSON: the route's own parsing answers that
            return
        check_value(body, "body")
