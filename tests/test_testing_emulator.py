"""syncd.testing.emulator: the base every sandbox emulator stands on, over real HTTP."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import struct
import sys
import threading
import time
import tomllib
from typing import Any

import httpx
import pytest

from syncd.testing.emulator import (
    PROBLEM_JSON,
    Emulator,
    EmulatorHandler,
    FaultQueues,
    Recorded,
    RequestLog,
    TokenBucket,
    find_route,
    specs_dir,
    toml_section,
)

from .conftest import REPO


class _EchoHandler(EmulatorHandler):
    emulator: EchoEmulator
    methods = ("GET", "POST", "PUT")

    def dispatch(self, method: str) -> None:
        body = self.read_body()
        fault = self.emulator.faults.take(self.path)
        if fault is not None:
            status = 500
            self.send_problem(status, {"title": "injected", "status": status})
        elif self.path == "/bytes":
            status = 200
            self.send_bytes(status, b"%PDF-1.7 fake", "application/pdf", {"X-Extra": "1"})
        elif self.path == "/empty":
            status = 204
            self.send_json(status, None)
        elif self.path == "/umlaut":
            status = 200
            self.send_json(status, {"name": "Müller"}, ensure_ascii=False)
        else:
            status = 200
            self.send_json(status, {"method": method, "path": self.path,
                                    "body": body.decode() if body else None,
                                    "length": self.content_length})
        self.emulator.received.append(Recorded(method, self.path, status, "echo",
                                               body=len(body)))


class EchoEmulator(Emulator):
    name = "echo"
    handler = _EchoHandler

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.received: RequestLog[Recorded] = RequestLog()
        self.faults: FaultQueues[str] = FaultQueues()

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        return {"enabled": True, "base_url": self.url, "rate": 2.5, **overrides}


def test_round_trip_on_a_free_port_with_json_and_recording():
    with EchoEmulator() as emu, httpx.Client(base_url=emu.url, timeout=5) as client:
        assert emu.url.startswith("http://127.0.0.1:") and not emu.url.endswith(":0")
        posted = client.post("/things?x=1", content=b'{"a": 1}')
        got = client.get("/")
    assert posted.status_code == 200 and posted.headers["content-type"] == "application/json"
    assert posted.json() == {"method": "POST", "path": "/things?x=1", "body": '{"a": 1}',
                             "length": 8}
    assert got.json()["body"] is None and got.json()["length"] == 0
    assert [(r.method, r.path, r.status, r.body) for r in emu.received] == [
        ("POST", "/things?x=1", 200, 8), ("GET", "/", 200, 0)]
    assert emu.received[0].at <= emu.received[1].at


def test_bytes_problem_and_empty_answers():
    with EchoEmulator() as emu, httpx.Client(base_url=emu.url, timeout=5) as client:
        pdf = client.get("/bytes")
        emu.faults["/x"] = ["boom"]
        problem = client.get("/x")
        again = client.get("/x")
        empty = client.get("/empty")
        umlaut = client.get("/umlaut")
    assert (pdf.content, pdf.headers["content-type"], pdf.headers["x-extra"]) == (
        b"%PDF-1.7 fake", "application/pdf", "1")
    assert problem.status_code == 500 and problem.headers["content-type"] == PROBLEM_JSON
    assert problem.json() == {"title": "injected", "status": 500}
    assert again.status_code == 200  # a queued fault strikes once
    assert empty.status_code == 204 and empty.content == b""
    assert "Müller".encode() in umlaut.content and umlaut.json() == {"name": "Müller"}


def test_methods_not_named_are_answered_501_and_keep_alive_survives():
    with EchoEmulator() as emu, httpx.Client(base_url=emu.url, timeout=5) as client:
        assert client.delete("/").status_code == 501
        assert client.patch("/").status_code == 501
        assert client.put("/", content=b"x").json()["method"] == "PUT"
        assert client.get("/").status_code == 200
    assert [r.method for r in emu.received] == ["PUT", "GET"]


def test_stop_frees_the_port_and_is_idempotent():
    emu = EchoEmulator().start()
    url = emu.url
    assert emu.running and httpx.get(url, timeout=5).status_code == 200
    emu.stop()
    assert not emu.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=1)
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.url
    emu.stop()  # a second stop does nothing
    assert not any(t.name == "echo-sandbox" for t in threading.enumerate())


def test_a_stopped_emulator_starts_again_and_a_bound_one_stops_without_serving():
    emu = EchoEmulator()
    server = emu.bind()
    assert emu.bind() is server and emu.url.endswith(f":{server.server_address[1]}")
    emu.stop()  # bound, never served: must not wait for a serve loop that never ran
    with emu:
        assert httpx.get(emu.url, timeout=5).status_code == 200
    with emu:
        assert httpx.get(emu.url, timeout=5).status_code == 200
    assert len(emu.received) == 2


def test_a_fixed_port_is_used():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with EchoEmulator(port=port) as emu:
        assert emu.url == f"http://127.0.0.1:{port}"
        assert httpx.get(emu.url, timeout=5).status_code == 200


def test_serve_forever_in_the_foreground_returns_after_shutdown():
    emu = EchoEmulator()
    server = emu.bind()
    url = emu.url
    thread = threading.Thread(target=emu.serve_forever)
    thread.start()
    assert httpx.get(url, timeout=5).status_code == 200
    server.shutdown()
    thread.join(5)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):  # it closed its socket on the way out
        httpx.get(url, timeout=1)


def test_a_client_hanging_up_mid_request_is_not_an_emulator_error(capfd):
    with EchoEmulator() as emu:
        host, port = emu.url.removeprefix("http://").split(":")
        for _ in range(5):
            conn = socket.create_connection((host, int(port)))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            time.sleep(0.05)
            conn.close()  # linger 0: a reset, as a client killed mid-upload sends
        time.sleep(0.2)
        assert httpx.get(emu.url, timeout=5).status_code == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err
    assert len(emu.received) == 1


def test_config_toml_is_a_plugin_section():
    with EchoEmulator() as emu:
        text = emu.config_toml(extra=["a", "b"])
        assert tomllib.loads(text)["plugins"]["echo"] == {
            "enabled": True, "base_url": emu.url, "rate": 2.5, "extra": ["a", "b"]}
    assert toml_section("t", {"k": "v"}) == '[t]\nk = "v"\n'
    with pytest.raises(NotImplementedError):
        Emulator().config_values()


def test_request_log_is_safe_under_concurrent_requests():
    with EchoEmulator() as emu:
        def send(n: int) -> None:
            with httpx.Client(base_url=emu.url, timeout=10) as client:
                for i in range(10):
                    assert client.post("/", content=json.dumps([n, i])).status_code == 200

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(emu.received) == 80 and len(emu.received.where(lambda r: r.status == 200)) == 80


def test_request_log_and_fault_queues_alone():
    log: RequestLog[int] = RequestLog()
    for i in range(5):
        log.append(i)
    assert list(log) == [0, 1, 2, 3, 4] and log[1:3] == [1, 2] and log[-1] == 4
    assert log.where(lambda i: i % 2 == 0) == [0, 2, 4] and log.count(3) == 1 and 4 in log
    for item in log:  # iterating a snapshot: appending meanwhile is allowed
        if item == 0:
            log.append(99)
    assert len(log) == 6 and bool(log)
    log.clear()
    assert not log and repr(log) == "RequestLog([])"

    faults: FaultQueues[int] = FaultQueues()
    faults["pdf"] = [503]
    faults.push("pdf", 429, 500)
    assert [faults.take("pdf") for _ in range(4)] == [503, 429, 500, None]
    assert faults.take("unknown") is None


def test_find_route_matches_method_and_pattern():
    routes = [("GET", re.compile(r"^/items/(?P<id>[^/]+)$"), "get"),
              ("PUT", re.compile(r"^/items/(?P<id>[^/]+)$"), "put")]
    name, match = find_route(routes, "PUT", "/items/7") or ("", None)
    assert name == "put" and match is not None and match["id"] == "7"
    assert find_route(routes, "POST", "/items/7") is None
    assert find_route(routes, "GET", "/items/7/files") is None


def test_specs_dir_from_the_environment_the_working_directory_or_none(tmp_path, monkeypatch):
    system = "nosuchremote"
    monkeypatch.chdir(tmp_path)
    assert specs_dir(system) is None
    (tmp_path / "shared" / "specs" / system).mkdir(parents=True)
    assert specs_dir(system) == (tmp_path / "shared" / "specs" / system).resolve()
    monkeypatch.setenv("SYNCD_NOSUCHREMOTE_SPECS", str(tmp_path / "elsewhere"))
    assert specs_dir(system) == tmp_path / "elsewhere"


def test_the_documented_example_emulator_works(tmp_path):
    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = docs.split("## Writing a sandbox emulator", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    module = tmp_path / "shop_emulator.py"
    module.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("shop_emulator", module)
    assert spec is not None and spec.loader is not None
    shop_module = importlib.util.module_from_spec(spec)
    sys.modules["shop_emulator"] = shop_module
    try:
        spec.loader.exec_module(shop_module)
        with shop_module.ShopEmulator(rate=2) as shop, httpx.Client(base_url=shop.url) as client:
            shop.faults["putInvoice"] = ["after"]
            assert client.put("/v1/invoices/RE-1", content=b"pdf").status_code == 500
            assert client.get("/v1/invoices/RE-1").status_code == 200  # stored all the same
            assert client.get("/v1/invoices/RE-1").status_code == 429  # 2 per second
            assert client.get("/nowhere").status_code == 404
            section_toml = tomllib.loads(shop.config_toml())["plugins"]["shop"]
            assert section_toml["base_url"] == shop.url
        assert shop.invoices == {"RE-1": b"pdf"}
        assert [(r.operation, r.status) for r in shop.received] == [
            ("putInvoice", 500), ("getInvoice", 200), ("getInvoice", 429), ("unknown", 404)]
    finally:
        sys.modules.pop("shop_emulator", None)


def test_token_bucket_admits_its_capacity_then_refills_at_its_rate():
    bucket = TokenBucket(10.0, capacity=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    bucket.stamp -= 0.15  # as if 0.15 s had passed: 1.5 tokens
    assert [bucket.take() for _ in range(2)] == [True, False]
    bucket.stamp -= 60  # a long pause refills to the capacity, not beyond
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    assert TokenBucket(0.5).capacity == 1.0 and TokenBucket(5).capacity == 5.0
