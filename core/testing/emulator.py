"""The plumbing every sandbox emulator shares: a threaded HTTP server on 127.0.0.1.

An emulator of a remote system is a real HTTP server, so connectors are tested through the
same client, sockets and timeouts they use in production. What differs between remotes (the
routes, rate limits, validation, faults) lives in the emulator; what is the same lives here:

- `Emulator`: binds a `ThreadingHTTPServer` (port 0 picks a free one), serves it in a daemon
  thread (`start()` / `stop()`, or `with`), or in the foreground for `syncd sandbox NAME`
  (`serve_forever()`); `url` once bound; `config_toml()` from the subclass's
  `config_values()`.
- `EmulatorHandler`: the request handler base; answers only the `methods` it names (501 for
  others, as `http.server` does), reads bodies, sends bytes, JSON or problem+json answers,
  keeps quiet (emulators record requests instead of logging them).
- `Recorded`, `RequestLog` and `FaultQueues`: what it received and the faults tests queue
  for it, safe to share between handler threads and the test.
- `TokenBucket`: the non-blocking server-side rate limit most remotes document.
- `find_route` for `(method, pattern, name)` tables, `specs_dir` for the remote's official
  contract files (which live outside the repository).

See docs/plugins.md, "Writing a sandbox emulator".
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar, overload

T = TypeVar("T")
PROBLEM_JSON = "application/problem+json"


class EmulatorServer(ThreadingHTTPServer):
    """One thread per connection; handler threads never keep the process alive."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeout and kill tests do that) is not an emulator failure."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class EmulatorHandler(BaseHTTPRequestHandler):
    """Request handler base: subclass it, name `methods` and implement `dispatch(method)`.

    `emulator` is the `Emulator` serving the request (each bound server gets its own
    subclass carrying it). Keep-alive HTTP/1.1 with Nagle off: headers and body leave in
    separate writes, and a delayed ACK would otherwise cost 40 ms per request.
    """

    emulator: Any
    methods: ClassVar[tuple[str, ...]] = ("GET", "POST")
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: emulators record what they received; access logs would drown test output."""

    def _route_method(self) -> None:
        if self.command not in self.methods:
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        self.dispatch(self.command)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _route_method

    def dispatch(self, method: str) -> None:
        """Answer one request of one of `methods`; every emulator implements it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement dispatch()")

    # reading ----------------------------------------------------------------------------------
    @property
    def content_length(self) -> int:
        return int(self.headers.get("Content-Length") or 0)

    def read_body(self) -> bytes:
        """The request body as far as it arrived (shorter than `content_length` when the
        client gave up mid-upload; compare the two where an aborted upload must not count)."""
        length = self.content_length
        return self.rfile.read(length) if length else b""

    # answering --------------------------------------------------------------------------------
    def send_bytes(self, status: int, data: bytes = b"", content_type: str | None = None,
                   headers: Mapping[str, str] | None = None) -> None:
        """One complete answer; `headers` may carry or override the Content-Type."""
        fields = {"Content-Type": content_type} if content_type is not None else {}
        fields.update(headers or {})
        self.send_response(status)
        for name, value in fields.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None, *,
                  content_type: str = "application/json", ensure_ascii: bool = True) -> None:
        """`body` as JSON; None sends an empty body (as remotes do for some statuses)."""
        data = b"" if body is None else json.dumps(body, ensure_ascii=ensure_ascii).encode()
        self.send_bytes(status, data, content_type, headers)

    def send_problem(self, status: int, body: Any,
                     headers: Mapping[str, str] | None = None) -> None:
        """An RFC 9457 `application/problem+json` answer."""
        self.send_json(status, body, headers, content_type=PROBLEM_JSON)


class Emulator:
    """A server for `handler` on `host:port`, in a daemon thread or in the foreground.

    Subclasses set `name` (the plugin: `[plugins.<name>]`, thread names) and `handler`, call
    `super().__init__(host=..., port=...)`, and keep their state in attributes the handler
    reaches as `self.emulator`. Use `with Emulator() as emu:` or `start()` / `stop()`; a
    stopped emulator can be started again (port 0 then picks a new port).
    """

    name: ClassVar[str] = "emulator"
    handler: ClassVar[type[EmulatorHandler]]

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """`http://host:port` of the bound socket (the real port when `port` was 0)."""
        if self._server is None:
            raise RuntimeError(f"the {self.name} emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def bind(self) -> EmulatorServer:
        """Open the socket once, so `url` is known before serving (the CLI prints it first)."""
        if self._server is None:
            handler = type(f"{type(self).__name__}Handler", (self.handler,), {"emulator": self})
            self._server = EmulatorServer((self.host, self.port), handler)
        return self._server

    def start(self) -> Self:
        """Serve in a daemon thread; returns self, so `emu = Emulator().start()` reads well."""
        if self.running:
            return self
        server = self.bind()
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                        name=f"{self.name}-sandbox", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C (`syncd sandbox NAME`), then close the socket."""
        server = self.bind()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self._server = None

    def stop(self) -> None:
        """Stop serving and free the port; waits for the serving thread, idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            if thread is not None:  # shutdown() waits for serve_forever, so only if it runs
                server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        """The `[plugins.<name>]` keys that point syncd at this emulator (per emulator)."""
        raise NotImplementedError(f"{type(self).__name__} has no syncd configuration")

    def config_toml(self, **overrides: Any) -> str:
        """`config_values(**overrides)` as a TOML section, for a syncd.toml or the CLI."""
        return toml_section(f"plugins.{self.name}", self.config_values(**overrides))


def toml_section(table: str, values: Mapping[str, Any]) -> str:
    """`[table]` and one `key = value` line each (JSON strings, numbers, lists are TOML)."""
    lines = [f"[{table}]"] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


class TokenBucket:
    """`rate` tokens a second up to `capacity` (default: one second's worth, at least 1).

    Non-blocking, as a remote's limit is: `take()` says whether this request may pass, and
    the emulator answers 429 when not. Thread-safe on its own lock.
    """

    def __init__(self, rate: float, capacity: float | None = None) -> None:
        self.rate = rate
        self.capacity = float(capacity) if capacity is not None else max(1.0, rate)
        self.tokens, self.stamp = self.capacity, time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def find_route(routes: Iterable[tuple[str, re.Pattern[str], T]], method: str,
               path: str) -> tuple[T, re.Match[str]] | None:
    """The first `(method, pattern, value)` row whose pattern matches `path`: (value, match)."""
    for verb, pattern, value in routes:
        match = pattern.match(path)
        if match and verb == method:
            return value, match
    return None


def specs_dir(system: str) -> Path | None:
    """The folder of `system`'s official contract files, or None (emulators then say so).

    `$SYNCD_<SYSTEM>_SPECS`, else `shared/specs/<system>` beside the checkout (or one of its
    parents, or the working directory): the specs are not part of the repository.
    """
    env = os.environ.get(f"SYNCD_{system.upper()}_SPECS")
    if env:
        return Path(env)
    for parent in (*Path(__file__).resolve().parents, Path.cwd()):
        for candidate in (parent.parent / "shared" / "specs" / system,
                          parent / "shared" / "specs" / system):
            if candidate.is_dir():
                return candidate.resolve()
    return None


@dataclass(frozen=True)
class Recorded:
    """One request an emulator answered, as tests and `syncd demo` notes read it."""

    method: str
    path: str
    status: int
    operation: str = ""
    """The emulator's name for what was asked ("createFeed", "pdf", "create:invoices")."""
    body: Any = None
    """What was received, as far as tests need it (JSON bodies; sizes for files)."""
    note: str = ""
    request_id: str = ""
    at: float = field(default_factory=time.monotonic)


class RequestLog(Sequence[T]):
    """What an emulator received, appended by handler threads while a test reads it.

    A read-only sequence to tests (`len`, indexes, slices, `count(x)`, `in`) plus `where`.
    Reads return snapshots, so a test can iterate while requests keep arriving. Its lock is
    its own and held only inside its methods, so it nests safely under any emulator lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def append(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def where(self, predicate: Callable[[T], bool] | None = None) -> list[T]:
        """The entries `predicate` accepts (all without one), in arrival order."""
        with self._lock:
            return [item for item in self._items if predicate is None or predicate(item)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.where())

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        with self._lock:
            return self._items[index]

    def __repr__(self) -> str:
        return f"RequestLog({self.where()!r})"


class FaultQueues(dict[str, list[T]]):
    """Faults queued per operation: `faults["createFeed"] = ["after"]`; the handler `take`s.

    A plain dict for tests to fill; `take` pops the next one for a key under a lock, so two
    concurrent requests never both get (or both miss) the same injected fault.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def take(self, key: str) -> T | None:
        with self._lock:
            queue = self.get(key)
            return queue.pop(0) if queue else None

    def push(self, key: str, *faults: T) -> None:
        with self._lock:
            self.setdefault(key, []).extend(faults)
