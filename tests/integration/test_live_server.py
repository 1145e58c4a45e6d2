"""The real server, as `onewindow serve` runs it: uvicorn on loopback with its own log
configuration, requests over TCP, the process's output captured. Its log has one line a
request, no logging errors, and no phone or ID in the clear; unknown routes and wrong
methods answer problem+json."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onewindow.kit.settings import Settings

PHONE, CITIZEN_ID = "13812345678", "11010519491231002X"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, file with everything the server printed) of a live uvicorn process."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    out = tmp_path / "server.log"
    env = {
        **os.environ,
        "ONEWINDOW_DATABASE_URL": settings.resolved_database_url,
        "ONEWINDOW_DATA_DIR": str(settings.data_dir),
        "ONEWINDOW_ENV": "test",
        "ONEWINDOW_INPROCESS_WORKER": "0",
    }
    command = [sys.executable, "-m", "uvicorn", "onewindow.api.app:create_app", "--factory"]
    command += ["--fd", str(sock.fileno()), "--log-level", "info"]
    with out.open("wb") as sink:
        proc = subprocess.Popen(  # noqa: S603 - our own server
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, pass_fds=[sock.fileno()]
        )
    sock.close()
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, out.read_text(errors="replace")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start: " + out.read_text()
            time.sleep(0.2)
        yield base, out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, object] = response.json()
    assert body["code"] == code
    assert body["status"] == status
    return body


def test_live_server_logs_every_request_masked_and_answers_problems(
    server: tuple[str, Path],
) -> None:
    base, out = server
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/api/v1/health").status_code == 200
        _problem(
            http.get(f"/api/v1/nothing/{CITIZEN_ID}", params={"phone": PHONE}),
            404,
            "route.not_found",
        )
        gone = _problem(http.delete("/api/v1/health"), 405, "route.method_not_allowed")
        assert gone["details"] == {"allowed": ["GET"]}
        _problem(http.post("/api/v1/health"), 405, "route.method_not_allowed")
        _problem(
            http.get("/no-such-page", headers={"Accept": "application/json"}),
            404,
            "route.not_found",
        )
        _problem(http.get("/no-such-page"), 404, "route.not_found")
        page = http.get("/no-such-page", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert http.get("/login", params={"hint": PHONE}).status_code == 200
    time.sleep(0.5)  # the access log line is written after the response is sent
    log = out.read_text(encoding="utf-8", errors="replace")
    assert "Logging error" not in log, log
    assert "Traceback" not in log, log
    access = [line for line in log.splitlines() if '" 200' in line or '" 40' in line]
    assert len(access) >= 9, log  # one line a request (and the start-up health polls)
    assert PHONE not in log, log
    assert CITIZEN_ID not in log, log
    assert "138****5678" in log, log
    assert "110105********002X" in log, log
