"""lexoffice delivery throughput: vouchers with their PDF against the emulator's token bucket.

Delivers `--count` invoices (default 1,000, as the issue asks: about 17 minutes at lexoffice's
2 requests/s; use `--count 100` for a quick look, or `--rate 20` to run the same protocol ten
times faster) the way the engine does: batches of 250, `prepare` (one voucherlist page per 250
documents), then the voucher and file steps. Reports wall time, requests per voucher (goal
<= 2.1), 429 answers (goal 0) and achieved / allowed request rate (goal >= 0.95).

Baseline, measured in the same run on `--baseline-count` documents: the naive protocol that
looks each voucher up before creating it (three requests per voucher).

Usage: python benchmarks/lexoffice_bench.py [--count 1000] [--rate 2] [--baseline-count 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from syncd import log as syncd_log
from syncd_lexoffice import lookup
from syncd_lexoffice.sandbox import LexofficeEmulator
from syncd_lexoffice.testing import deliver, make_job, make_target, sample_document

BATCH = 250


def documents(count: int, prefix: str) -> list:
    start = date(2026, 3, 1)
    return [sample_document(f"{prefix}{i}", number=f"{prefix}-{i:06d}",
                            issue=start + timedelta(days=i // 40),
                            lines=[(f"{10 + i % 90}.00", "0.19"), ("4.90", "0.07")])
            for i in range(count)]


def run(count: int, rate: float, naive: bool, prefix: str) -> dict:
    with LexofficeEmulator(rate=rate) as emu, tempfile.TemporaryDirectory() as tmp:
        target = make_target(emu, Path(tmp))
        target.check()  # profile + categories: once per process, not per voucher
        docs = documents(count, prefix)
        started = time.monotonic()
        done = 0
        for first in range(0, count, BATCH):
            jobs = [make_job(d) for d in docs[first:first + BATCH]]
            if not naive:
                target.prepare(jobs)
            for job in jobs:
                if naive:  # one filtered voucherlist call per voucher, trusted as it is
                    day = job.document.issue_date
                    list(lookup.list_range(target.api, day, day, number=job.document.number))
                deliver(target, job)
                done += 1
                if done % 50 == 0 or done == count:
                    elapsed = time.monotonic() - started
                    print(f"  {'naive' if naive else 'syncd'}: {done}/{count} vouchers, "
                          f"{elapsed:.0f} s", file=sys.stderr, flush=True)
        wall = time.monotonic() - started
        target.close()
        state = emu.state
        requests = state.count() - 2  # without the start-up profile + categories
        once = all(len(state.by_number(d.number)) == 1 for d in docs)
        with_pdf = all(len(v.files) == 1 for v in state.vouchers.values())
        return {"wall": wall, "requests": requests, "per_voucher": requests / count,
                "429": state.count(status=429), "achieved": requests / wall,
                "ratio": requests / wall / rate, "exactly_once": once and with_pdf}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=2.0,
                        help="requests/s of the emulator's bucket and of the client (2 = real)")
    parser.add_argument("--baseline-count", type=int, default=20)
    args = parser.parse_args()
    syncd_log.configure(fmt="console", level="WARNING")  # type: ignore[arg-type]
    print(f"lexoffice bench: {args.count} vouchers with PDF at {args.rate:g} requests/s")
    base = run(args.baseline_count, args.rate, True, "B")
    fast = run(args.count, args.rate, False, "S")
    print(f"{'protocol':<34}{'vouchers':>9}{'wall s':>9}{'req/voucher':>13}{'429s':>6}"
          f"{'achieved/allowed':>18}{'once+PDF':>10}")
    for name, n, r in (("baseline: lookup before each POST", args.baseline_count, base),
                       ("syncd: prefetch per 250 + 2 calls", args.count, fast)):
        print(f"{name:<34}{n:>9}{r['wall']:>9.1f}{r['per_voucher']:>13.3f}{r['429']:>6}"
              f"{r['ratio']:>18.3f}{'yes' if r['exactly_once'] else 'NO':>10}")
    print(f"requests per voucher vs baseline: {fast['per_voucher'] / base['per_voucher']:.3f} "
          f"(goal <= 2.1 per voucher: {'met' if fast['per_voucher'] <= 2.1 else 'MISSED'}; "
          f"429s goal 0: {'met' if fast['429'] == 0 else 'MISSED'}; "
          f"rate goal >= 0.95: {'met' if fast['ratio'] >= 0.95 else 'MISSED'})")
    print(f"time per voucher vs baseline: "
          f"{(fast['wall'] / args.count) / (base['wall'] / args.baseline_count):.3f}")
    return 0 if fast["exactly_once"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
