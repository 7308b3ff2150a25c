"""A fault-injecting proxy in front of the emulator: the network as it really behaves.

For a share of calls (`rate`, seeded so a failing run can be repeated) it answers instead of
Amazon or spoils Amazon's answer, choosing among `faults`:
- "429": throttled without forwarding (nothing happened at Amazon);
- "503": an outage without forwarding;
- "502-after": forwarded and processed, the answer replaced by a 502 (the caller cannot know);
- "garbage": forwarded and processed, answered with a non-JSON 200 (a broken proxy, a cut body);
- "slow": forwarded after `slow` seconds (with a short client timeout: an answer lost in time).
Every decision is recorded in `faults_seen` as (operation path, fault).
"""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FAULTS = ("429", "503", "502-after", "garbage", "slow")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class FaultProxy:
    """`FaultProxy(emulator.url, rate=0.15, seed=1).start()`; point syncd at `.url`."""

    def __init__(self, upstream: str, *, rate: float = 0.15, seed: int | None = None,
                 faults: tuple[str, ...] = FAULTS, slow: float = 0.5) -> None:
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.faults = faults
        self.slow = slow
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.faults_seen: list[tuple[str, str]] = []
        self._http = httpx.Client(timeout=30.0)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        handler = type("ProxyHandler", (_Handler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                         name="amazon-fault-proxy").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._http.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def choose(self, path: str) -> str | None:
        with self._lock:
            if path.startswith("/_") or self._random.random() >= self.rate:
                return None
            fault = self._random.choice(self.faults)
            self.faults_seen.append((path, fault))
            return fault

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> httpx.Response:
        return self._http.request(method, self.upstream + path, headers=headers, content=body)


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = self.proxy.choose(self.path.split("?")[0])
        if fault == "429":
            self._answer(429, b'{"errors":[{"code":"QuotaExceeded","message":"proxy throttle"}]}',
                         "application/json")
            return
        if fault == "503":
            self._answer(503, b"<html>503 Service Unavailable</html>", "text/html")
            return
        if fault == "slow":
            time.sleep(self.proxy.slow)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            response = self.proxy.forward(self.command, self.path, headers, body)
        except httpx.HTTPError:
            self._answer(502, b"<html>502 Bad Gateway</html>", "text/html")
            return
        if fault == "502-after":
            self._answer(502, b"<html>502 Bad Gateway</html>", "text/html")
            return
        if fault == "garbage":
            self._answer(200, b"<html><body>upstream proxy: truncated", "text/html")
            return
        extra = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS
                 and k.lower() != "content-type"}
        self._answer(response.status_code, response.content,
                     response.headers.get("content-type", "application/octet-stream"), extra)

    def _answer(self, status: int, data: bytes, content_type: str,
                headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            return

    do_GET = do_POST = do_PUT = _relay
