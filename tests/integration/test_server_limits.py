"""A real `serve --workers 2` on loopback: a 200 MB body does not grow a server process, a
client sending a byte a second is cut off, and killing the parent takes the workers with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from onewindow.catalog import service as catalog
from onewindow.kit.migrate import upgrade
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.security import service as security
from onewindow.security.passwords import hash_password
from tests.conftest import DEMO_CITY

MB = 1024 * 1024
BODY = 200 * MB
GROWTH_LIMIT = 50 * MB

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc for memory")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    base: str

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in out.stdout.split()]


def _memory(pid: int, field: str) -> int:
    """A memory figure of a live process, in bytes (0 for a zombie or a process gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{data / 'onewindow.db'}"
    platform = Platform.create(Settings(env="test", data_dir=data, database_url=url))
    upgrade(platform.engine)
    with platform.unit_of_work() as ctx:
        catalog.load_catalog(ctx, DEMO_CITY, actor="test")
        staff = catalog.get_staff(ctx, "center_qian")
        security.set_password_hash(ctx, staff, hash_password("demo"), actor="test")
    platform.dispose()
    port = free_port()
    env = {
        **os.environ,
        "ONEWINDOW_ENV": "test",
        "ONEWINDOW_DATA_DIR": str(data),
        "ONEWINDOW_DATABASE_URL": url,
        "ONEWINDOW_BODY_TIMEOUT_SECONDS": "2",
    }
    code = (
        "from onewindow.api.server import serve; "
        f"serve('127.0.0.1', {port}, workers=2, with_worker=False)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health/live", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("server did not start")
    served = Server(proc, port, base)
    assert _until_n_children(served, 2)
    yield served
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)


def _until_n_children(server: Server, n: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = [p for p in server.children() if _memory(p, "VmRSS") > 20 * MB]
        if len(started) >= n:
            return True
        time.sleep(0.5)
    return False


def _raw(
    port: int, head: bytes, chunks: Iterator[bytes] | None = None, timeout: float = 60
) -> bytes:
    """Send a request head (and a body, chunk by chunk, until the server stops reading);
    return what the server answered."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(head)
        try:
            for chunk in chunks or iter(()):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the rest is never read
        s.settimeout(timeout)
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def _chunked(total: int, *, prefix: bytes = b"", size: int = 256 * 1024) -> Iterator[bytes]:
    yield f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n"
    zeros = b"0" * size
    sent = 0
    while sent < total:
        yield f"{size:x}\r\n".encode() + zeros + b"\r\n"
        sent += size
    yield b"0\r\n\r\n"


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


JSON_HEAD = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
UPLOAD_HEAD = (
    b"POST /api/v1/applications HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: multipart/form-data; boundary=B\r\n"
)
PART = (
    b'--B\r\nContent-Disposition: form-data; name="material:id_card"; filename="a.pdf"\r\n'
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
)


def _bodies(server: Server, size: int, signed_in: bytes) -> list[bytes]:
    """The four ways of sending a body of ``size`` bytes; the answers."""
    chunked = b"Transfer-Encoding: chunked\r\n\r\n"
    return [
        _raw(server.port, JSON_HEAD + f"Content-Length: {size}\r\n\r\n".encode()),
        _raw(server.port, JSON_HEAD + chunked, _chunked(size, prefix=b"[")),
        _raw(server.port, UPLOAD_HEAD + f"Content-Length: {size // 2}\r\n\r\n".encode()),
        _raw(server.port, UPLOAD_HEAD + signed_in + chunked, _chunked(size, prefix=PART)),
    ]


def test_a_200_mb_body_does_not_grow_a_server_process(server: Server) -> None:
    with httpx.Client(base_url=server.base) as c:
        r = c.post("/api/v1/auth/login", json={"username": "center_qian", "password": "demo"})
        assert r.status_code == 200, r.text
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        signed_in = f"Cookie: {cookie}\r\nX-CSRF-Token: {r.json()['csrf_token']}\r\n".encode()
    # Warm both processes up on the same paths with 2 MB bodies (first requests build
    # caches: the OpenAPI schema, the multipart parser, password hashing).
    for _ in range(6):
        _bodies(server, 2 * MB, signed_in)
    pids = server.children()
    peak_before = {p: _memory(p, "VmHWM") for p in pids}
    declared, chunked, anonymous, upload = _bodies(server, BODY, signed_in)
    # declared: refused before a byte of the body is read; chunked: at the JSON limit
    assert _status(declared) == _status(chunked) == 413
    assert b"application/problem+json" in declared
    # an upload without credentials: 401 before its body is read
    assert _status(anonymous) == 401
    # a signed-in upload: read (to disk) up to the upload limit, then 413
    assert _status(upload) == 413, upload[:300]
    growth = {p: _memory(p, "VmHWM") - peak_before[p] for p in pids}
    sys.stdout.write(f"peak memory growth per server process: {sorted(growth.values())} bytes\n")
    assert max(growth.values()) <= GROWTH_LIMIT, {p: g // MB for p, g in growth.items()}


def test_a_client_sending_a_byte_a_second_is_cut_off(server: Server) -> None:
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )

    def trickle() -> Iterator[bytes]:
        for _ in range(60):
            yield b" "
            time.sleep(1)

    started = time.monotonic()
    answer = _raw(server.port, head, trickle())
    assert _status(answer) == 408, answer[:300]
    assert b"request.timeout" in answer
    assert time.monotonic() - started < 10  # 2 s grace in this server, then the rate


def test_oversized_headers_are_answered_as_problems(server: Server) -> None:
    r = httpx.get(f"{server.base}/api/v1/health/live", headers={"x-filler": "a" * 30_000})
    assert r.status_code == 431
    assert r.headers["content-type"] == "application/problem+json"


def test_killing_the_parent_takes_its_workers_and_frees_the_port(server: Server) -> None:
    """Runs last in this module: the server does not survive it."""
    children = [p for p in server.children() if _memory(p, "VmRSS")]
    assert len(children) == 2
    # a worker killed on its own is replaced
    os.kill(children[0], signal.SIGKILL)
    assert _until_n_children(server, 2)
    assert httpx.get(f"{server.base}/api/v1/health/live", timeout=5).status_code == 200
    children = [p for p in server.children() if _memory(p, "VmRSS")]
    assert len(children) == 2
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in children):
        time.sleep(0.2)
    alive = [p for p in children if Path(f"/proc/{p}/status").exists()]
    assert not [p for p in alive if "zombie" not in Path(f"/proc/{p}/status").read_text()]
    with socket.socket() as s:  # the port is free for a restart
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", server.port))
