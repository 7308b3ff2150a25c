"""Xentral target throughput at Xentral's 100 requests/minute, and requests per document.

The emulator enforces 100 requests per window; the window is shrunk by `--speedup` (and the
target's limiter with it) so a run takes seconds, and figures are reported per *emulated*
minute. Optimised: `prepare()` prefetches products and orders for the batch (one request
each), then create + attach (+ paid for FBA) per invoice. Baseline, measured in the same run:
the naive connector — no batch cache, a product lookup per line, an order lookup and a
`find_existing` lookup before every create.

    python benchmarks/xentral_bench.py [--count 120] [--baseline-count 60] [--speedup 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from syncd import log as syncd_log
from syncd.http import HttpClients
from syncd.model import Fulfilment
from syncd_xentral.client import XentralApi, build_http
from syncd_xentral.lookups import Lookups
from syncd_xentral.sandbox import XentralEmulator
from syncd_xentral.testing import amazon_document, job_for, make_target

SKUS = tuple(f"SKU-{i}" for i in range(20))
BATCH = 50


def documents(count: int, offset: int, fba: bool) -> list:
    return [amazon_document(f"INV-{offset + i:06d}", order_id=f"302-{i % 40:07d}-0000001",
                            skus=(SKUS[i % len(SKUS)], SKUS[(i + 7) % len(SKUS)]),
                            fulfilment=Fulfilment.FBA if fba else Fulfilment.FBM)
            for i in range(count)]


def run(count: int, speedup: float, *, naive: bool, fba: bool, offset: int) -> dict:
    minute = 60.0 / speedup
    with XentralEmulator(products=("PORTO", *SKUS), limit=100, period=minute) as emu:
        for i in range(40):
            emu.state.add_sales_order(f"302-{i:07d}-0000001")
        with tempfile.TemporaryDirectory() as folder:
            target = make_target(emu, Path(folder))
            target.api = XentralApi(build_http(  # its own limiter: 100 per emulated minute
                emu.url, emu.state.token, per_minute=100, timeout=30.0, minute=minute,
                http=HttpClients.standalone()))
            target.lookups = Lookups(target.api)
            target.files.api = target.api
            docs = documents(count, offset, fba)
            started = time.perf_counter()
            for start in range(0, count, BATCH):
                jobs = [job_for(d) for d in docs[start:start + BATCH]]
                if not naive:
                    target.prepare(jobs)
                for job in jobs:
                    if naive:
                        target.lookups = Lookups(target.api)  # nothing cached
                        target.find_step("document", job)
                    for step in target.steps(job.document):
                        job = job.with_step(step, target.run_step(step, job))
            elapsed = time.perf_counter() - started
            requests = len(emu.state.requests)
            throttled = sum(1 for r in emu.state.requests if r.status == 429)
            assert emu.state.count("invoices") == count and not emu.state.spec_violations
    emulated_minutes = elapsed * speedup / 60.0
    return {"docs": count, "requests": requests, "per_doc": requests / count,
            "docs_per_min": count / emulated_minutes, "seconds": elapsed,
            "throttled": throttled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=120)
    parser.add_argument("--baseline-count", type=int, default=60)
    parser.add_argument("--speedup", type=float, default=10.0)
    args = parser.parse_args()
    syncd_log.configure(fmt="console", level="WARNING")  # type: ignore[arg-type]
    rows = [
        ("baseline: naive (FBA, with PDF, paid)", run(args.baseline_count, args.speedup,
                                                      naive=True, fba=True, offset=0)),
        ("syncd: prepare + cached lookups (FBA, PDF, paid)", run(args.count, args.speedup,
                                                                 naive=False, fba=True,
                                                                 offset=10_000)),
        ("syncd: prepare + cached lookups (FBM, PDF)", run(args.count, args.speedup,
                                                           naive=False, fba=False,
                                                           offset=20_000)),
    ]
    base = rows[0][1]["docs_per_min"]
    print(f"Xentral target at 100 requests/min (emulator window {60 / args.speedup:g} s = "
          "1 emulated minute)")
    print(f"{'configuration':<50} {'docs':>5} {'req':>5} {'req/doc':>8} {'docs/min':>9} "
          f"{'429s':>5} {'vs baseline':>12}")
    for name, row in rows:
        print(f"{name:<50} {row['docs']:>5} {row['requests']:>5} {row['per_doc']:>8.2f} "
              f"{row['docs_per_min']:>9.1f} {row['throttled']:>5} "
              f"{row['docs_per_min'] / base:>11.2f}x")
    with_pdf, with_paid = rows[2][1]["per_doc"], rows[1][1]["per_doc"]
    print(f"goal <= 3 requests per invoice with PDF: {'met' if with_pdf <= 3 else 'MISSED'} "
          f"({with_pdf:.2f} including the batch lookups; {with_paid:.2f} when an FBA invoice "
          "is also marked paid)")


if __name__ == "__main__":
    main()
