"""`syncd run`: exit codes of --once, schedules, retries when due, SIGTERM shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from syncd.daemon import Daemon
from syncd.engine import Engine
from syncd.store import Store
from syncd.testing.config import render_config


def worker(config_path, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "syncd.testing.worker", "-c", str(config_path),
         "--log-format", "json", "run", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def write(tmp_path, sink, **plugin):
    path = tmp_path / "syncd.toml"
    path.write_text(render_config(plugin={"sink_url": sink.url, **plugin},
                                  engine={"backoff_base": "10ms", "max_attempts": 2}))
    return path


def log_events(stderr: bytes) -> list[dict]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]


def test_once_exits_zero_and_logs_one_summary_per_cycle(tmp_path, document_sink):
    proc = worker(write(tmp_path, document_sink, count=5), "--once")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    cycles = [e for e in log_events(err) if e["event"] == "cycle"]
    assert len(cycles) == 1 and cycles[0]["delivered"] == 5
    assert len(document_sink.received()) == 5


def test_once_exits_non_zero_when_a_delivery_is_in_error(tmp_path, document_sink):
    document_sink.set_faults(1.0, ["400"])
    proc = worker(write(tmp_path, document_sink, count=2), "--once")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err.decode()


def test_sigterm_finishes_current_delivery_releases_leases_exits_zero(tmp_path, document_sink):
    config_path = write(tmp_path, document_sink, count=400)
    document_sink.set_faults(0.0, latency=0.02)
    proc = worker(config_path)
    deadline = time.monotonic() + 30
    while len(document_sink.received()) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err.decode()
    assert time.monotonic() - started < 5
    assert any(e["event"] == "stop requested" for e in log_events(err))
    store = Store.open(f"sqlite:///{tmp_path / 'syncd.db'}")
    counts = store.counts()["demo"]
    assert "processing" not in counts
    assert counts["done"] == len(document_sink.received()) < 400
    # a new run continues where the first stopped
    document_sink.set_faults(0.0)
    again = worker(config_path, "--once")
    again.communicate(timeout=60)
    assert store.counts() == {"demo": {"done": 400}}
    assert len(document_sink.received()) == 400
    store.close()


@pytest.fixture
def daemon_engine(make_syncd_config, document_sink, syncd_plugin):
    config = make_syncd_config(
        plugin={"sink_url": document_sink.url, "count": 3},
        engine={"backoff_base": "50ms", "max_attempts": 5},
        pipelines=[{"name": "demo", "source": "synthetic", "targets": ["sink"],
                    "schedule": "1h"}])
    store = Store.open(config.database_url)
    engine = Engine(config, store, extra_plugins=[syncd_plugin])
    yield engine
    store.close()


def test_daemon_retries_when_due_and_plans_next_pull(daemon_engine, document_sink):
    document_sink.set_faults(1.0, ["500"])
    daemon = Daemon(daemon_engine, poll=0.05)
    thread = threading.Thread(target=daemon.run_forever)
    thread.start()
    try:
        time.sleep(0.2)
        document_sink.set_faults(0.0)
        deadline = time.monotonic() + 10
        while len(document_sink.stored()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        daemon_engine.stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(document_sink.stored()) == 3
    run = daemon_engine.store.runs()["demo"]
    assert 3590 <= (run.next_run_at - run.last_started_at).total_seconds() <= 3610
    assert run.last_summary["pulled"]["new"] == 3


def test_daemon_resumes_the_planned_schedule_after_restart(daemon_engine):
    Daemon(daemon_engine).run_once()
    planned = daemon_engine.store.runs()["demo"].next_run_at
    daemon = Daemon(daemon_engine, poll=0.05)
    daemon_engine.stop.clear()
    thread = threading.Thread(target=daemon.run_forever)
    thread.start()
    time.sleep(0.2)
    daemon_engine.stop.set()
    thread.join(10)
    assert daemon_engine.store.runs()["demo"].next_run_at == planned  # no extra pull


def test_a_crashing_pipeline_is_recorded_and_fails_once(tmp_path, document_sink):
    path = tmp_path / "syncd.toml"
    path.write_text(render_config(plugin={"count": 2}))  # the sink target lacks its URL
    proc = worker(path, "--once")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    # a ConfigError (the sink URL is missing) stops the pipeline with one clear line
    assert any(e["event"] == "pipeline stopped" and "sink_url" in e["error"]
               for e in log_events(err))
    assert b"Traceback" not in err
    store = Store.open(f"sqlite:///{tmp_path / 'syncd.db'}")
    events = store.events()
    store.close()
    assert any(e["kind"] == "pipeline-stopped" and "sink_url" in e["message"] for e in events)
