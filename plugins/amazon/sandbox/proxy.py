"""A fault-injecting proxy in front of the emulator: the network as it really behaves.

For a share of calls (`rate`, seeded so a failing run can be repeated) it answers instead of
Amazon or spoils Amazon's answer, choosing among `faults`:
- "429": throttled without forwarding (nothing happened at Amazon);
- "503": an outage without forwarding;
- "502-after": forwarded and processed, the answer replaced by a 502 (the caller cannot know);
- "garbage": forwarded and processed, answered with a non-JSON 200 (a broken proxy, a cut body);
- "slow": forwarded after `slow` seconds (with a short client timeout: an answer lost in time);
- "404-page" (scripted only): a proxy's HTML 404 without forwarding.
Every decision is recorded in `faults_seen` as (operation path, fault). `script` replays a
given sequence per path first (None: pass through), for a race a regression test must hit
every time.
"""

from __future__ import annotations

import random
import threading
import time

import httpx

from syncd.testing.emulator import Emulator, EmulatorHandler

FAULTS = ("429", "503", "502-after", "garbage", "slow")
THROTTLED = b'{"errors":[{"code":"QuotaExceeded","message":"proxy throttle"}]}'
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class _Handler(EmulatorHandler):
    emulator: FaultProxy
    methods = ("GET", "POST", "PUT")

    def dispatch(self, method: str) -> None:
        proxy = self.emulator
        body = self.read_body()
        fault = proxy.choose(self.path.split("?")[0])
        if fault == "429":
            self.send_bytes(429, THROTTLED, "application/json")
            return
        if fault == "404-page":  # scripted only: a proxy's own error page, not Amazon's
            self.send_bytes(404, b"<html>404 Not Found</html>", "text/html")
            return
        if fault == "503":
            self.send_bytes(503, b"<html>503 Service Unavailable</html>", "text/html")
            return
        if fault == "slow":
            time.sleep(proxy.slow)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        try:
            response = proxy.forward(method, self.path, headers, body)
        except httpx.HTTPError:
            self.send_bytes(502, b"<html>502 Bad Gateway</html>", "text/html")
            return
        if fault == "502-after":
            self.send_bytes(502, b"<html>502 Bad Gateway</html>", "text/html")
            return
        if fault == "garbage":
            self.send_bytes(200, b"<html><body>upstream proxy: truncated", "text/html")
            return
        extra = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS
                 and k.lower() != "content-type"}
        self.send_bytes(response.status_code, response.content,
                        response.headers.get("content-type", "application/octet-stream"), extra)


class FaultProxy(Emulator):
    """`FaultProxy(emulator.url, rate=0.15, seed=1).start()`; point syncd at `.url`."""

    name = "amazon-fault-proxy"
    handler = _Handler

    def __init__(self, upstream: str, *, rate: float = 0.15, seed: int | None = None,
                 faults: tuple[str, ...] = FAULTS, slow: float = 0.5,
                 script: dict[str, list[str | None]] | None = None) -> None:
        super().__init__()
        self.upstream = upstream.rstrip("/")
        self.rate = rate
        self.faults = faults
        self.slow = slow
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.faults_seen: list[tuple[str, str]] = []
        self.script = {path: list(faults) for path, faults in (script or {}).items()}
        self._http = httpx.Client(timeout=30.0)

    def stop(self) -> None:
        super().stop()
        self._http.close()

    def choose(self, path: str) -> str | None:
        with self._lock:
            if self.script.get(path):
                fault = self.script[path].pop(0)
            elif path.startswith("/_") or self._random.random() >= self.rate:
                return None
            else:
                fault = self._random.choice(self.faults)
            if fault is None:
                return None
            self.faults_seen.append((path, fault))
            return fault

    def forward(self, method: str, path: str, headers: dict[str, str],
                body: bytes) -> httpx.Response:
        return self._http.request(method, self.upstream + path, headers=headers, content=body)
