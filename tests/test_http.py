"""core/http: pacing across threads and processes, Retry-After, retry rules, secret-safe logs."""

from __future__ import annotations

import io
import json
import multiprocessing
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from syncd import log
from syncd.http import HttpClients, RateLimit, display_url


class Recorder:
    """A local threaded HTTP server: records arrivals, answers from a per-path script."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, str]] = []
        self.script: dict[str, deque[tuple[int, dict[str, str]]]] = {}
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self.path.split("?")[0]
                with recorder.lock:
                    recorder.arrivals.append((time.monotonic(), self.command, path))
                    queue = recorder.script.get(path)
                    status, headers = queue.popleft() if queue else (200, {})
                body = json.dumps({"ok": status < 400}).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def times(self, path: str | None = None) -> list[float]:
        return sorted(t for t, _m, p in self.arrivals if path is None or p == path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    recorder = Recorder()
    yield recorder
    recorder.stop()


def assert_paced(times: list[float], requests: int, per: float, slack: float = 0.1) -> None:
    """No `requests + 1` arrivals inside one window of `per` seconds (slack: a busy machine
    delays a request between the limiter's admission and its arrival)."""
    for first, last in zip(times, times[requests:], strict=False):
        assert last - first >= per - slack, (requests, per, [round(t - times[0], 3) for t in times])


def test_pacing_holds_across_four_threads(server):
    clients = HttpClients.standalone()
    rate = RateLimit(requests=3, per=0.3, key="test:threads")
    # two clients with the same key share one budget
    a = clients.client("a", server.url, rate=rate)
    b = clients.client("b", server.url, rate=rate)

    def work(client):
        for _ in range(3):
            assert client.get("/x").status_code == 200

    threads = [threading.Thread(target=work, args=(c,)) for c in (a, b, a, b)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = server.times()
    assert len(times) == 12
    # a loaded machine can hold a request back after its admission (arrivals bunch up), so
    # the window check has slack; the span from the start cannot shrink through delays:
    # 12 calls at 3 per 0.3 s need three more windows after the first
    assert_paced(times, 3, 0.3, slack=0.25)
    assert times[-1] - start >= 0.9 - 0.03
    clients.close()


def _worker(url: str, state_url: str, out, ready, go) -> None:
    clients = HttpClients(state_url)
    client = clients.client("w", url, rate=RateLimit(requests=2, per=0.4, key="lexoffice:abc"))
    clients.pacer(client.pacer.limit)  # the limiter (and its table) exist before the start
    ready.put(True)
    go.wait(30)  # both start together: unshared limiters would burst at once
    statuses = [client.get("/p").status_code for _ in range(4)]
    clients.close()
    out.put(statuses)


@pytest.mark.postgres
def test_pacing_holds_across_two_processes_on_postgresql(server, pg_url):
    ctx = multiprocessing.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(server.url, pg_url, out, ready, go))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=60)
    go.set()
    results = [out.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert results == [[200] * 4, [200] * 4]
    times = server.times()
    assert len(times) == 8
    # process start-up and scheduling jitter delay arrivals, never hasten them: 8 calls at
    # 2 per 0.4 s need three more windows (unshared limiters would finish in one)
    assert times[-1] - times[0] >= 1.2 - 0.05
    assert_paced(times, 2, 0.4, slack=0.15)
    import psycopg
    from sqlalchemy.engine import make_url

    schema = make_url(pg_url).query["options"].split("=")[-1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test") as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))]
    assert any(t.startswith("ratelimit___lexoffice_abc_") for t in tables), tables


def test_retry_after_is_honoured(server):
    server.script["/busy"] = deque([(429, {"Retry-After": "1"})])
    client = HttpClients.standalone().client("t", server.url, retries=3, backoff_base=0.01)
    response = client.post("/busy", json={"a": 1})  # 429 is retried even for POST
    assert response.status_code == 200
    first, second = server.times("/busy")
    assert second - first >= 0.95


def test_too_long_retry_after_hands_the_answer_back(server):
    server.script["/later"] = deque([(429, {"Retry-After": "3600"})])
    client = HttpClients.standalone().client("t", server.url, retries=3, max_retry_after=5)
    response = client.get("/later")
    assert response.status_code == 429 and len(server.times("/later")) == 1
    assert response.headers["Retry-After"] == "3600"


def test_post_not_retried_on_5xx_but_get_and_put_are(server):
    client = HttpClients.standalone().client("t", server.url, retries=2, backoff_base=0.01,
                                             backoff_max=0.02)
    server.script["/post"] = deque([(503, {}), (503, {})])
    assert client.post("/post", json={}).status_code == 503
    assert len(server.times("/post")) == 1
    server.script["/get"] = deque([(503, {}), (502, {})])
    assert client.get("/get").status_code == 200
    assert len(server.times("/get")) == 3
    server.script["/put"] = deque([(500, {})])
    assert client.put("/put", content=b"x").status_code == 200
    server.script["/unsafe"] = deque([(500, {})])
    assert client.post("/unsafe", json={}, retry_unsafe=True).status_code == 200
    assert len(server.times("/unsafe")) == 2


def test_retries_are_bounded_and_the_last_answer_returned(server):
    server.script["/down"] = deque([(503, {})] * 10)
    client = HttpClients.standalone().client("t", server.url, retries=2, backoff_base=0.01,
                                             backoff_max=0.02)
    assert client.get("/down").status_code == 503
    assert len(server.times("/down")) == 3


def test_unreachable_host_is_retried_then_raised():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = HttpClients.standalone().client("t", f"http://127.0.0.1:{port}", retries=2,
                                             backoff_base=0.01, backoff_max=0.02)
    stream = io.StringIO()
    log.configure(fmt="json", stream=stream)
    with pytest.raises(httpx.ConnectError):
        client.post("/x", json={})  # nothing was sent, so even a POST is retried
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sum(1 for line in lines if line["event"] == "http call failed") == 3


def test_secrets_absent_from_the_log(server):
    stream = io.StringIO()
    log.configure(fmt="json", stream=stream)
    server.script["/v1/vouchers"] = deque([(503, {})])
    client = HttpClients.standalone().client(
        "lexoffice", server.url, secret_headers={"Authorization": "Bearer sk-live-ABCDEF123456"},
        retries=1, backoff_base=0.01)
    client.get("/v1/vouchers", params={"api_key": "QSECRET98765", "from": "2026-01-01"},
               secret_headers={"X-Session": "sess-ZYXWVU98765"})
    text = stream.getvalue()
    for secret in ("sk-live-ABCDEF123456", "QSECRET98765", "sess-ZYXWVU98765"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines()]
    calls = [line for line in lines if line["event"] == "http call"]
    assert [c["status"] for c in calls] == [503, 200]
    assert calls[0]["method"] == "GET" and calls[0]["client"] == "lexoffice"
    assert calls[0]["url"].endswith("/v1/vouchers?api_key=***&from=2026-01-01")
    assert isinstance(calls[0]["ms"], float)
    # a secret echoed in an error text is masked too
    log.get_logger("t").error("remote said", text="bad key sk-live-ABCDEF123456")
    assert "sk-live-ABCDEF123456" not in stream.getvalue()


def test_display_url_masks_secret_looking_parameters():
    url = httpx.URL("https://s3.example/bucket/doc?X-Amz-Signature=abc&X-Amz-Credential=k&n=1")
    assert display_url(url) == "s3.example/bucket/doc?X-Amz-Signature=***&X-Amz-Credential=***&n=1"
    shown = display_url(httpx.URL("http://h:8080/p?shop=x"), frozenset({"shop"}))
    assert shown == "h:8080/p?shop=***"


def test_rate_limit_refuses_nonsense():
    with pytest.raises(ValueError):
        RateLimit(requests=0, per=1.0, key="k")
    with pytest.raises(ValueError):
        RateLimit(requests=1, per=1.0, key="")


def test_the_engine_hands_connectors_the_shared_factory(make_syncd_config, document_sink,
                                                         syncd_plugin, tmp_path):
    from syncd.engine import build_connector, build_host

    state = f"sqlite:///{tmp_path / 'state.db'}"
    config = make_syncd_config(plugin={"sink_url": document_sink.url}, state_url=state)
    host = build_host(config, [syncd_plugin])
    pipeline = config.settings.pipelines[0]
    source = build_connector(config, host, pipeline, "source", "synthetic")
    target = build_connector(config, host, pipeline, "target", "sink")
    assert isinstance(target.context.http, HttpClients)
    assert target.context.http.state_url == state
    rate = RateLimit(requests=2, per=1.0, key="shared:key")
    # two connectors of one process share one limiter per key
    assert source.context.http.pacer(rate) is target.context.http.pacer(rate)
    source.close()
    target.close()
