"""Webhook signatures (pure): HMAC-SHA256 over ``"{timestamp}.{body}"``.

Signing the timestamp together with the body lets a receiver refuse a captured request
replayed later: the signature stays valid but the timestamp goes stale.
"""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "sha256"
DEFAULT_TOLERANCE = 300  # seconds a receiver accepts between our clock and its own


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The ``X-OneWindow-Signature`` header value: ``sha256=<hex digest>``.

    ``timestamp`` is in unix seconds; ``body`` is the exact request body sent.
    """
    message = f"{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes | str,
    signature: str,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> bool:
    """True when ``signature`` is ours for this body and the timestamp is fresh.

    ``now`` is the receiver's current unix time; a timestamp more than ``tolerance`` seconds
    away from it (either side) is refused, so a captured request cannot be replayed later.
    """
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature.strip())
