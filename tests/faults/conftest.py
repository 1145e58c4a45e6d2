"""The fault-injection suite runs only when asked (``.ci/run`` asks): it starts its own
PostgreSQL cluster, a server and a worker, and takes a few minutes."""

from __future__ import annotations

import os

import pytest

from .cluster import why_not

ENABLE = "ONEWINDOW_FAULT_SUITE"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get(ENABLE) != "1":
        reason = f"fault-injection suite: set {ENABLE}=1 to run it (.ci/run does)"
    else:
        reason = why_not() or ""
    if not reason:
        return
    for item in items:
        if "tests/faults/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))
