"""`onewindow serve`: uvicorn in this process, or a small pre-fork supervisor for several.

Why not uvicorn's own ``--workers``: each of its workers is a fresh interpreter that imports
the whole application again, and the supervisor kills a worker that has not answered its
health check within 5 s, so on a busy or slow machine workers were killed while still
importing, in a loop; and a parent killed with SIGKILL left its workers serving as orphans
that kept the port.

Here the parent imports the application once, binds the socket, and forks the workers:
a worker starts in the time it takes to build the app (no imports), and is never killed for
being slow. Each worker asks the kernel for SIGTERM when its parent dies
(``PR_SET_PDEATHSIG`` on Linux, and a watchdog thread that notices a new parent
everywhere), so killing the parent, even with SIGKILL, takes the workers with it after they
finish the requests in flight. A worker that dies is replaced. SIGTERM or SIGINT to the
parent stops the workers gracefully (``GRACE`` seconds), then for good.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import importlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

log = logging.getLogger("uvicorn.error")
APP_MODULE = "onewindow.api.app"
GRACE = 10  # seconds a stopping worker may spend on requests in flight
# h11 refuses a request head above this with a plain 400; below it the limits middleware
# answers problem+json 431 above ``max_header_bytes``.
MAX_REQUEST_HEAD = 64 * 1024
PR_SET_PDEATHSIG = 1


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with access lines formatted like the rest: the log redaction
    (``security.masking``) hands records over already formatted, which uvicorn's access
    formatter cannot take apart again."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"] = {
        "()": "uvicorn.logging.DefaultFormatter",
        "fmt": "%(levelprefix)s %(message)s",
    }
    return config


def _uvicorn_config(app: Any, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=_log_config(),
        http="h11",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        timeout_graceful_shutdown=GRACE,
        lifespan="on",
    )


def build_app() -> Any:
    """The ASGI app; while the database is unreachable, wait for it (capped backoff,
    logged once) instead of dying and being restarted in a loop."""
    from sqlalchemy.exc import DBAPIError

    create_app = importlib.import_module(APP_MODULE).create_app
    delay, since = 1.0, None
    while True:
        try:
            return create_app()
        except DBAPIError as exc:
            if since is None:
                since = time.monotonic()
                log.warning("database unavailable at start-up, waiting for it: %s", exc.orig)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def serve(host: str, port: int, *, workers: int, with_worker: bool) -> None:
    os.environ["ONEWINDOW_INPROCESS_WORKER"] = "1" if with_worker else "0"
    if workers <= 1:
        uvicorn.Server(_uvicorn_config(build_app(), host, port)).run()
        return
    supervisor = Supervisor(host, port, workers)
    supervisor.bind()  # first: clients wait in the backlog instead of being refused
    importlib.import_module(APP_MODULE)  # once, here: the forked workers inherit it
    supervisor.run()


def _die_with_parent(parent: int) -> None:
    """SIGTERM this process when ``parent`` is gone, however it died."""
    libc_name = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc_name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE + 5)
        os._exit(1)  # graceful shutdown hung

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if os.getppid() != parent:  # died before the kernel was told
        os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    """The pre-fork parent: see the module docstring."""

    def __init__(self, host: str, port: int, workers: int) -> None:
        self.host, self.port, self.workers = host, port, workers
        self.children: dict[int, float] = {}  # pid -> start time
        self.stopping = False
        self.sock: socket.socket | None = None
        self.pid = os.getpid()
        self._quick_deaths = 0

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def bind(self) -> None:
        self.sock = _uvicorn_config(None, self.host, self.port).bind_socket()

    def run(self) -> None:
        if self.sock is None:
            self.bind()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info("supervisor %d: starting %d server processes", self.pid, self.workers)
        try:
            for _ in range(self.workers):
                self._spawn()
            while not self.stopping:
                self._reap(respawn=True)
                time.sleep(0.2)
        finally:
            self._shutdown()

    def _spawn(self) -> None:
        assert self.sock is not None
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent(self.pid)
                app = build_app()
                uvicorn.Server(_uvicorn_config(app, self.host, self.port)).run(sockets=[self.sock])
            except BaseException:
                log.exception("server process %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        self.children[pid] = time.monotonic()
        log.info("supervisor %d: server process %d started", self.pid, pid)

    def _reap(self, *, respawn: bool) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            started = self.children.pop(pid, None)
            if started is None:
                continue
            if respawn and not self.stopping:
                how = _describe(status)
                log.warning(
                    "supervisor %d: server process %d %s; starting another", self.pid, pid, how
                )
                if time.monotonic() - started < 5:
                    self._quick_deaths += 1
                    time.sleep(min(10.0, 0.5 * 2**self._quick_deaths))  # crash loop: slow down
                else:
                    self._quick_deaths = 0
                self._spawn()

    def _shutdown(self) -> None:
        log.info("supervisor %d: stopping %d server processes", self.pid, len(self.children))
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE + 5
        while self.children and time.monotonic() < deadline:
            self._reap(respawn=False)
            time.sleep(0.1)
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._reap(respawn=False)
        if self.sock is not None:
            self.sock.close()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
