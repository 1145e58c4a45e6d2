"""One error hierarchy for the whole platform.

Every error carries a machine-readable ``code`` (dotted, stable), an HTTP ``status`` and
a bilingual message, so the API can answer with RFC 9457 problem details and the CLI can
print a clear line instead of a stack trace.
"""

from __future__ import annotations

from typing import Any


class OneWindowError(Exception):
    """Base of every error the platform raises on purpose."""

    code: str = "onewindow.error"
    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        message_zh: str | None = None,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = details or {}

    def to_problem(self) -> dict[str, Any]:
        """RFC 9457 problem details body."""
        return {
            "type": f"urn:onewindow:error:{self.code}",
            "title": self.message,
            "title_zh": self.message_zh,
            "status": self.status,
            "code": self.code,
            **({"details": self.details} if self.details else {}),
        }

    def __str__(self) -> str:
        return f"[{self.code}] {self.message_zh} / {self.message}"


class ValidationFailed(OneWindowError):
    code = "validation.failed"
    status = 422


class NotFound(OneWindowError):
    code = "not_found"
    status = 404


class PermissionDenied(OneWindowError):
    code = "permission.denied"
    status = 403


class Conflict(OneWindowError):
    """A state change lost a race or is not allowed in the record's current state."""

    code = "conflict"
    status = 409


class ConcurrentUpdate(Conflict):
    """Another writer changed the record first; the whole operation may be retried."""

    code = "concurrency.conflict"
    retryable = True


class ConfigurationError(OneWindowError):
    code = "configuration.invalid"
    status = 500
