"""Proof 2: several `syncd run` processes on one PostgreSQL deliver 1,000 documents to two
targets ("sink", and "steps-sink" with steps "create" and "attach").

Every document reaches each target once; every document has one number (the same at both
targets), the numbers are unique and the series has no gap; the attempt history shows that
more than one worker did the work. Proof 3: a delivery that outlives its lease (the sink holds
it longer) is kept by the lease heartbeat, so the other workers never send it a second time.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from syncd.engine import Engine
from syncd.store import Store
from syncd.store.schema import attempts
from syncd.testing.config import render_config, write_config

COUNT = 1000
WORKERS = 3

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_workers_share_postgres_without_double_delivery_or_numbers(
        tmp_path, pg_url, document_sink, syncd_plugin):
    options = {
        "plugin": {"count": COUNT, "batch": 200, "sink_url": document_sink.url},
        "engine": {"batch_size": 10, "lease": "30s", "backoff_base": "10ms"},
        "pipelines": [{"name": "demo", "source": "synthetic",
                       "targets": ["sink", "steps-sink"]}],
        "state_url": pg_url,
    }
    config = write_config(tmp_path, **options)
    store = Store.open(pg_url)
    pulled = Engine(config, store, extra_plugins=[syncd_plugin]).pull(
        config.settings.pipelines[0])
    assert pulled.new == COUNT
    (tmp_path / "syncd.toml").write_text(render_config(**options))
    document_sink.set_faults(0.0, latency=0.001)
    workers = [
        subprocess.Popen([sys.executable, "-m", "syncd.testing.worker", "-c",
                          str(tmp_path / "syncd.toml"), "run", "--once"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(WORKERS)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-2000:]

    received = document_sink.received()
    assert len(received) == 2 * COUNT
    assert not any(e["duplicate"] for e in received + document_sink.files_received())
    assert len({e["identity"] for e in received}) == 2 * COUNT
    by_identity = {e["identity"]: e["number"] for e in received}
    assert all(by_identity[k] == by_identity[f"steps:{k}"] for k in by_identity
               if not k.startswith("steps:"))
    numbers = sorted(int(n.rsplit("-", 1)[1]) for k, n in by_identity.items()
                     if not k.startswith("steps:"))
    assert numbers == list(range(1, COUNT + 1))
    assert len(document_sink.files_received()) == COUNT
    assert store.counts() == {"demo": {"done": 2 * COUNT}}
    with store.engine.connect() as conn:
        per_worker = dict(conn.execute(sa.select(attempts.c.worker, sa.func.count())
                                       .group_by(attempts.c.worker)).all())
    store.close()
    assert sum(per_worker.values()) == 2 * COUNT
    assert len(per_worker) >= 2, per_worker
    print(f"deliveries per worker: {sorted(per_worker.values())}")


def test_workers_pulling_at_once_store_each_document_once(tmp_path, pg_url, document_sink):
    count = 300
    (tmp_path / "syncd.toml").write_text(render_config(
        plugin={"count": count, "batch": 25, "sink_url": document_sink.url},
        engine={"batch_size": 10, "backoff_base": "10ms"}, state_url=pg_url))
    workers = [
        subprocess.Popen([sys.executable, "-m", "syncd.testing.worker", "-c",
                          str(tmp_path / "syncd.toml"), "run", "--once"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-2000:]
    store = Store.open(pg_url)
    # a worker that found the pull taken delivers what is there; run once more to finish
    subprocess.run([sys.executable, "-m", "syncd.testing.worker", "-c",
                    str(tmp_path / "syncd.toml"), "run", "--once"], check=True,
                   capture_output=True)
    assert store.counts() == {"demo": {"done": count}}
    store.close()
    received = document_sink.received()
    assert sorted(e["identity"] for e in received) == [f"synthetic:doc-{i:06d}"
                                                      for i in range(count)]
    assert sorted(int(e["number"].rsplit("-", 1)[1]) for e in received) == list(
        range(1, count + 1))


def test_a_delivery_outliving_its_lease_is_sent_once(tmp_path, pg_url, document_sink):
    slow = "synthetic:doc-000001"
    (tmp_path / "syncd.toml").write_text(render_config(
        plugin={"count": 60, "batch": 60, "sink_url": document_sink.url, "timeout": 30.0},
        engine={"batch_size": 2, "lease": "1s", "backoff_base": "10ms"}, state_url=pg_url))
    store = Store.open(pg_url)
    # four leases long, before it is stored; the others keep the workers busy meanwhile
    document_sink.set_faults(0.0, hold={slow: 4.0}, latency=0.1)
    workers = [
        subprocess.Popen([sys.executable, "-m", "syncd.testing.worker", "-c",
                          str(tmp_path / "syncd.toml"), "run", "--once"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(WORKERS)
    ]
    for worker in workers:
        _out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()[-2000:]
    received = document_sink.received()
    assert [e["identity"] for e in received].count(slow) == 1
    assert not any(e["duplicate"] for e in received)
    subprocess.run([sys.executable, "-m", "syncd.testing.worker", "-c",
                    str(tmp_path / "syncd.toml"), "run", "--once"], check=True,
                   capture_output=True)
    assert store.counts() == {"demo": {"done": 60}}
    store.close()
