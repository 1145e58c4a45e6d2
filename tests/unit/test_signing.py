"""Webhook signatures: what a receiver accepts and what it refuses."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from onewindow.integration.delivery import DeliveryPolicy, backoff
from onewindow.integration.signing import sign, verify

SECRET = "s3cret"
TS = 1_772_413_200
BODY = b'{"id":"abc","topic":"case.started","payload":{"case_number":"X-1"}}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, TS, BODY) == f"sha256={expected}"
    assert sign(SECRET, TS, BODY.decode()) == sign(SECRET, TS, BODY)


def test_valid_signature_verifies() -> None:
    assert verify(SECRET, TS, BODY, sign(SECRET, TS, BODY), now=TS + 10)
    assert verify(SECRET, str(TS), BODY, sign(SECRET, TS, BODY), now=TS - 10)


def test_tampered_body_is_refused() -> None:
    signature = sign(SECRET, TS, BODY)
    assert not verify(SECRET, TS, BODY.replace(b"X-1", b"X-2"), signature, now=TS)


def test_wrong_secret_is_refused() -> None:
    assert not verify("other", TS, BODY, sign(SECRET, TS, BODY), now=TS)


def test_timestamp_is_signed_too() -> None:
    assert not verify(SECRET, TS + 1, BODY, sign(SECRET, TS, BODY), now=TS)


def test_stale_or_future_timestamp_is_refused() -> None:
    signature = sign(SECRET, TS, BODY)
    assert not verify(SECRET, TS, BODY, signature, now=TS + 301)
    assert not verify(SECRET, TS, BODY, signature, now=TS - 301)
    assert verify(SECRET, TS, BODY, signature, now=TS + 3600, tolerance=3600)


def test_garbage_is_refused() -> None:
    assert not verify(SECRET, "yesterday", BODY, sign(SECRET, TS, BODY), now=TS)
    assert not verify(SECRET, TS, BODY, "sha256=00", now=TS)
    assert not verify(SECRET, TS, BODY, "", now=TS)


def test_backoff_doubles_to_its_cap_with_jitter_below_the_nominal_delay() -> None:
    policy = DeliveryPolicy(base_delay=timedelta(seconds=10), max_delay=timedelta(hours=1))
    assert backoff(1, policy, jitter=1.0) == timedelta(seconds=10)
    assert backoff(3, policy, jitter=1.0) == timedelta(seconds=40)
    assert backoff(12, policy, jitter=1.0) == timedelta(hours=1)
    assert backoff(500, policy, jitter=1.0) == timedelta(hours=1)
    for n in range(1, 15):
        nominal = backoff(n, policy, jitter=1.0)
        assert nominal / 2 <= backoff(n, policy) <= nominal
