"""A department system receiving onewindow webhooks: the smallest correct receiver.

    python examples/department_system.py --port 9100 --secret S

then register it (POST /api/v1/integration/subscriptions with url http://127.0.0.1:9100/)
and put the secret shown once into --secret. It needs only the standard library.

What a receiver must do, and this one does:

1. verify ``X-OneWindow-Signature`` = ``sha256=`` HMAC-SHA256(secret, "{timestamp}.{raw body}")
   over the raw bytes received, comparing in constant time;
2. refuse a ``X-OneWindow-Timestamp`` more than five minutes off its own clock (replays);
3. dedupe on ``X-OneWindow-Id``: onewindow delivers at least once, so the same event can
   arrive twice (a retry after a lost acknowledgement); process each id once, and answer
   2xx for a duplicate so the sender stops;
4. answer 2xx only after the event is safely processed; anything else is retried later.

A real system keeps the seen ids in its own database, in the transaction that processes the
event; this example keeps them in memory.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE = 300


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Receiver:
    """The department system's state: what it has seen and processed. Outlives any one
    server, as a database would, so a restarted server still knows what it processed."""

    def __init__(
        self,
        secret: str,
        *,
        now: Callable[[], float] = time.time,
        tolerance: int = TOLERANCE,
        out: Callable[[str], Any] | None = None,
    ) -> None:
        self.secret = secret
        self.now = now
        self.tolerance = tolerance
        self.out = out if out is not None else _print
        self.lock = threading.Lock()
        self.requests: list[str] = []  # every id that reached us, duplicates included
        self.processed: list[str] = []  # ids processed, in order; each once
        self.events: dict[str, dict[str, Any]] = {}
        self.rejected = 0
        # Set to e.g. 500 to play a system that is up but failing.
        self.fail_status: int | None = None

    def handle(self, headers: Any, body: bytes) -> tuple[int, str]:
        """Returns (HTTP status, short reason) for one request."""
        timestamp = headers.get("X-OneWindow-Timestamp", "")
        signature = headers.get("X-OneWindow-Signature", "")
        message_id = headers.get("X-OneWindow-Id", "")
        try:
            ts = int(timestamp)
        except ValueError:
            return self._reject(400, "missing or bad timestamp")
        if abs(self.now() - ts) > self.tolerance:
            return self._reject(401, "stale timestamp")
        if not hmac.compare_digest(expected_signature(self.secret, timestamp, body), signature):
            return self._reject(401, "bad signature")
        try:
            event = json.loads(body)
        except ValueError:
            return self._reject(400, "body is not JSON")
        if not isinstance(event, dict) or event.get("id") != message_id:
            return self._reject(400, "id header and body disagree")
        with self.lock:
            self.requests.append(message_id)
            if self.fail_status is not None:
                return self.fail_status, "failing on purpose"
            if message_id in self.events:
                return 200, "duplicate"
            self.events[message_id] = event
            self.processed.append(message_id)
        payload = event.get("payload", {})
        self.out(
            f"{event.get('topic'):<15} {payload.get('case_number', '-'):<24} "
            f"{payload.get('department', '-'):<8} {payload.get('task_name', '')} id={message_id}"
        )
        return 200, "processed"

    def _reject(self, status: int, reason: str) -> tuple[int, str]:
        with self.lock:
            self.rejected += 1
        self.out(f"rejected ({status}): {reason}")
        return status, reason


def make_server(
    receiver: Receiver, host: str = "127.0.0.1", port: int = 9100
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status, reason = receiver.handle(self.headers, body)
            data = json.dumps({"status": reason}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the receiver prints one line per event instead

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--secret", required=True, help="the subscription's signing secret")
    args = parser.parse_args(argv)
    server = make_server(Receiver(args.secret), args.host, args.port)
    sys.stdout.write(f"department system listening on http://{args.host}:{args.port}/\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
