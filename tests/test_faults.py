"""Proof 1: a worker SIGKILLed at random points during delivery loses nothing, sends nothing twice.

The worker is the real `syncd run --once` (via `python -m syncd.testing.worker`) against the
document sink, which also injects 429/500/"500 after storing" faults. The pipeline has two
targets: "sink" (one step) and "steps-sink" (steps "create" and "attach", the PDF read from the
attachment store). After every kill a new worker continues; at the end the sink holds every
document exactly once per target with its file once, each document with one number (the same
at both targets, gapless), and the store shows every delivery done.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from syncd.store import Store
from syncd.testing.config import render_config

COUNT = 120
KILLS = 20

pytestmark = pytest.mark.slow


def start_worker(config_path):
    return subprocess.Popen(
        [sys.executable, "-m", "syncd.testing.worker", "-c", str(config_path), "run", "--once"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def test_sigkill_during_delivery_never_loses_or_duplicates(tmp_path, document_sink):
    rng = random.Random(20261121)
    config_path = tmp_path / "syncd.toml"
    config_path.write_text(render_config(
        plugin={"count": COUNT, "batch": 10, "sink_url": document_sink.url, "timeout": 2.0,
                "attach": "inline"},
        pipelines=[{"name": "demo", "source": "synthetic", "targets": ["sink", "steps-sink"]}],
        engine={"lease": "1s", "batch_size": 4, "backoff_base": "10ms", "backoff_max": "100ms",
                "max_attempts": 100},
    ))
    document_sink.set_faults(0.15, ["429", "500", "500-after", "slow"], retry_after=0.01,
                             delay=0.02, seed=7)
    kills = 0
    deadline = time.monotonic() + 90
    while kills < KILLS and time.monotonic() < deadline:
        before = len(document_sink.received())
        if len(document_sink.stored()) == 2 * COUNT:
            break
        worker = start_worker(config_path)
        wanted = before + rng.randint(1, 4)
        while worker.poll() is None and len(document_sink.received()) < wanted:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.01))
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            kills += 1
        worker.wait()
    assert kills >= KILLS, f"only {kills} kills landed during delivery"

    document_sink.set_faults(0.0)
    counts = None
    for _ in range(10):  # finish: wait out the dead workers' leases, then run to the end
        time.sleep(1.1)
        worker = start_worker(config_path)
        _out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err.decode()[-2000:]
        if len(document_sink.stored()) == 2 * COUNT:
            store = Store.open(f"sqlite:///{tmp_path / 'syncd.db'}")
            counts = store.counts()
            store.close()
            if counts == {"demo": {"done": 2 * COUNT}}:
                break

    received = document_sink.received()
    duplicates = [e["identity"] for e in received + document_sink.files_received()
                  if e["duplicate"]]
    assert duplicates == []
    keys = [f"synthetic:doc-{i:06d}" for i in range(COUNT)]
    stored = document_sink.stored()
    assert sorted(stored) == sorted(keys + [f"steps:{k}" for k in keys])
    assert all(len(document_sink.files(f"steps:{k}")) == 1 for k in keys)
    assert all(stored[k]["number"] == stored[f"steps:{k}"]["number"] for k in keys)
    numbers = sorted(int(stored[k]["number"].rsplit("-", 1)[1]) for k in keys)
    assert numbers == list(range(1, COUNT + 1))
    assert counts == {"demo": {"done": 2 * COUNT}}
    print(f"{kills} SIGKILLs during delivery, {len(received)} requests received")
