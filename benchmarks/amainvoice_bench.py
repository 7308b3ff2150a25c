"""Amainvoice: a two-month reload against the emulator, and the parse rate of a big day.

1. `engine.reload` of 60 days through the real engine (SQLite) against the
   emulator with a throttle of `--rate` requests per second (`Throttel is On` above it) and
   `--latency` seconds per answer (the remote building a day of rows). Reported: wall time,
   requests, throttle answers, documents, lost and doubled (compared with the dataset), and
   the ratio to Xentral's schedule (one call per hourly run, three per day: 180 h for 60
   days) and to a sequential client (one request in flight) measured in the same run. The
   delivery that follows (each document's PDF fetched by the engine's attachment step, then
   a no-op target) is timed on its own with `--deliver` (it adds about 100 s).
2. The parse rate of one 100,000-row day: JSON answer -> rows -> documents.

Usage: python benchmarks/amainvoice_bench.py [--days 60] [--per-day 300] [--rate 4]
                                             [--latency 0.5] [--rows 100000] [--deliver]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

XENTRAL_CALLS_PER_DAY = 3  # .tax, .inv, .rem: one per hourly run


def reload_run(days: int, per_day: int, rate: int, latency: float, concurrency: int,
               deliver: bool = False) -> dict:
    from syncd.config import load_config
    from syncd.engine import Engine
    from syncd.plugins import load_plugins
    from syncd.store import Store
    from syncd.testing.plugin import PLUGIN
    from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
    from syncd_amainvoice.testing import engine_toml

    today = AmainvoiceEmulator().today()
    dataset = Dataset(today - timedelta(days=days), days, per_day=per_day, late_ratio=0.0)
    expected = ({f"invoice:{n}" for n in dataset.numbers("inv")}
                | {f"credit_note:{n}" for n in dataset.numbers("rem")})
    with tempfile.TemporaryDirectory() as tmp, AmainvoiceEmulator(
            dataset, rate=rate, per=1.0, latency=latency) as emu:
        path = Path(tmp) / "syncd.toml"
        values = emu.config_values(concurrency=concurrency, requests_per_second=rate)
        path.write_text(engine_toml(values).replace(
            'throttle_pause = "0.05s"', 'throttle_pause = "1s"').replace(
            'requests_per_second = 200', f"requests_per_second = {rate}").replace(
            "pdf_requests_per_second = 500", "pdf_requests_per_second = 5000"))
        config = load_config(path, load_plugins(extra=[PLUGIN]).registry)
        store = Store.open(config.database_url)

        class ReloadFirst(Engine):
            """Delivery (PDF step + no-op target) timed apart from the reload itself."""

            hold = True

            def deliver(self, pipeline, **options):
                if self.hold:
                    return None, []
                return super().deliver(pipeline, **options)

        engine = ReloadFirst(config, store, extra_plugins=[PLUGIN])
        pipeline = engine.pipelines()[0]
        started = time.monotonic()
        stats, complete = engine.reload(pipeline, dataset.start, today - timedelta(days=1),
                                        "bench")
        wall = time.monotonic() - started
        deliver_s = None
        if deliver:
            engine.hold = False
            started = time.monotonic()
            engine.deliver(pipeline)
            deliver_s = round(time.monotonic() - started, 1)
        docs = list(store.list_documents(limit=10**7))
        keys = [d.source_key for d in docs]
        done = sum(1 for d in docs if d.state == "done")
        engine.close()
        store.close()
        received = emu.received()
        pdfs = len(emu.pdf_requests)
    return {"days": days, "wall_s": round(wall, 1), "complete": complete,
            "deliver_s": deliver_s, "pdfs": pdfs,
            "requests": len(received),
            "throttled": sum(1 for r in received if r["answer"].startswith("throttle")),
            "documents": len(set(keys)), "delivered": done,
            "lost": len(expected - set(keys)), "doubled": len(keys) - len(set(keys)),
            "unexpected": len(set(keys) - expected), "new": stats.new}


def sequential_rate(days: int, per_day: int, rate: int, latency: float) -> float:
    """Seconds per request of a client with one request in flight (source only)."""
    from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
    from syncd_amainvoice.testing import drain, make_source

    today = AmainvoiceEmulator().today()
    dataset = Dataset(today - timedelta(days=days), days, per_day=per_day, late_ratio=0.0)
    with tempfile.TemporaryDirectory() as tmp, AmainvoiceEmulator(
            dataset, rate=rate, per=1.0, latency=latency) as emu:
        source = make_source(Path(tmp), emu, concurrency=1, requests_per_second=rate,
                             throttle_pause="1s", lookback="0d")
        started = time.monotonic()
        drain(source)
        wall = time.monotonic() - started
        return wall / max(1, len(emu.received()))


def parse_rate(rows: int) -> dict:
    from syncd_amainvoice.documents import build
    from syncd_amainvoice.sandbox import AmainvoiceEmulator, Dataset
    from syncd_amainvoice.transport import parse_answer

    today = AmainvoiceEmulator().today()
    day = today - timedelta(days=1)
    dataset = Dataset(day, 1, per_day=3000, late_ratio=0.0)
    sample = dataset.rows(day, "inv", 2, "https://amainvoice.example")
    answer = []  # the sample again and again, each copy with its own invoice numbers
    while len(answer) < rows:
        copy = len(answer) // len(sample)
        answer += [{**row, "inv_rech_nr": f"{row['inv_rech_nr']}-{copy}"}
                   for row in sample[:rows - len(answer)]]
    body = json.dumps(answer, ensure_ascii=False).encode()
    started = time.monotonic()
    parsed = parse_answer(200, body, day, "inv")
    parsed_s = time.monotonic() - started
    built = build(parsed.rows, day, "inv")
    total = time.monotonic() - started
    return {"rows": len(parsed.rows), "mb": round(len(body) / 1e6, 1),
            "documents": len(built.items), "json_s": round(parsed_s, 2),
            "total_s": round(total, 2), "rows_per_s": round(len(parsed.rows) / total),
            "documents_per_s": round(len(built.items) / total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--rate", type=int, default=4, help="remote throttle, requests/s")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--baseline-days", type=int, default=6)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--deliver", action="store_true",
                        help="also deliver everything (PDF step, no-op target), timed apart")
    args = parser.parse_args()

    reload = reload_run(args.days, args.per_day, args.rate, args.latency, args.concurrency,
                        args.deliver)
    per_request = sequential_rate(args.baseline_days, 20, args.rate, args.latency)
    sequential_s = per_request * reload["requests"]
    xentral_h = args.days * XENTRAL_CALLS_PER_DAY
    print(f"reload of {reload['days']} days (throttle {args.rate}/s, {args.latency}s per "
          f"answer, concurrency {args.concurrency}):")
    print(f"  wall {reload['wall_s']} s, {reload['requests']} requests "
          f"({reload['throttled']} answered 'Throttel is On'), {reload['documents']} "
          f"documents stored once each, complete={reload['complete']}")
    print(f"  lost {reload['lost']}, doubled {reload['doubled']}, unexpected "
          f"{reload['unexpected']}")
    if args.deliver:
        print(f"  then delivery (lazy PDF step, {reload['pdfs']} PDFs, no-op target): "
              f"{reload['deliver_s']} s, {reload['delivered']} done")
    print(f"  Xentral's schedule: {xentral_h} h ({xentral_h} calls, one per hourly run) -> "
          f"x{xentral_h * 3600 / reload['wall_s']:,.0f} faster "
          f"(goal: under 10 min, > x1,000)")
    print(f"  sequential client (one request in flight, measured on {args.baseline_days} "
          f"days): {per_request:.2f} s/request -> {sequential_s:.0f} s for this reload, "
          f"x{sequential_s / reload['wall_s']:.1f}")
    parse = parse_rate(args.rows)
    print(f"parse of a {parse['rows']:,}-row day ({parse['mb']} MB JSON): "
          f"{parse['total_s']} s ({parse['json_s']} s JSON), {parse['rows_per_s']:,} rows/s, "
          f"{parse['documents']:,} documents ({parse['documents_per_s']:,}/s)")
    print(json.dumps({"reload": reload, "sequential_s_per_request": round(per_request, 3),
                      "parse": parse}))


if __name__ == "__main__":
    main()
