"""One limiter per API key: two pipelines (threads) or two workers (processes on PostgreSQL)
on the same key stay within lexoffice's rate together, so steady state sees no 429."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from syncd.http import HttpClients
from syncd_lexoffice.sandbox import LexofficeEmulator
from syncd_lexoffice.testing import deliver, make_job, make_target, sample_document

RATE = 4.0  # low enough that request latency on a busy machine cannot hide an overrun
DOCS = 5  # per pipeline: 2 start-up calls + 2 per voucher


def deliver_all(target: Any, prefix: str) -> None:
    for i in range(DOCS):
        deliver(target, make_job(sample_document(f"{prefix}{i}")))


def run_pair(emu: LexofficeEmulator, tmp: Path, factories: list[HttpClients]) -> int:
    targets = [make_target(emu, tmp, http=f) for f in factories]
    threads = [threading.Thread(target=deliver_all, args=(t, f"p{i}-"))
               for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for target in targets:
        target.close()
    assert len(emu.state.vouchers) == 2 * DOCS
    return emu.state.count(status=429)


def test_two_pipelines_on_one_key_share_one_budget(tmp_path):
    with LexofficeEmulator(rate=RATE) as emu:
        shared = HttpClients.standalone()  # what the engine hands every connector
        assert run_pair(emu, tmp_path, [shared, shared]) == 0
    with LexofficeEmulator(rate=RATE) as emu:  # the control: two budgets overrun the key
        assert run_pair(emu, tmp_path, [HttpClients.standalone(),
                                        HttpClients.standalone()]) > 0


def _worker(values: dict[str, Any], state_url: str, tmp: str, prefix: str, ready: Any,
            go: Any, out: Any) -> None:
    from syncd.context import ConnectorContext
    from syncd_lexoffice.config import LexofficeConfig
    from syncd_lexoffice.target import LexofficeTarget
    from syncd_lexoffice.testing import TinyRenderer

    http = HttpClients(state_url)
    target = LexofficeTarget(LexofficeConfig.model_validate(values), ConnectorContext(
        plugin="lexoffice", data_dir=Path(tmp), endpoint="lexoffice", pipeline=prefix,
        renderer=TinyRenderer(), http=http))
    from syncd_lexoffice.transport import rate_limit

    http.pacer(rate_limit(target.config.requests_per_second, target.config.limiter_key))
    ready.put(True)
    go.wait(60)  # both start together: unshared limiters would burst at once
    deliver_all(target, prefix)
    target.close()
    http.close()
    out.put(prefix)


@pytest.mark.postgres
def test_two_workers_on_postgresql_share_one_budget(tmp_path, pg_url):
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    with LexofficeEmulator(rate=RATE) as emu:
        procs = [ctx.Process(target=_worker, args=(emu.config(), pg_url, str(tmp_path),
                                                   f"w{i}-", ready, go, out))
                 for i in range(2)]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=120)
        go.set()
        done = sorted(out.get(timeout=120) for _ in procs)
        for proc in procs:
            proc.join(timeout=30)
            assert proc.exitcode == 0
        assert done == ["w0-", "w1-"] and len(emu.state.vouchers) == 2 * DOCS
        assert emu.state.count(status=429) == 0
