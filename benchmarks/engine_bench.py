"""Engine throughput: synthetic documents through a no-op source and target.

Runs each configuration in a fresh process (so peak RSS is per configuration):

- SQLite, one worker: pull + deliver (batched claims, grouped outcome commits)
- baseline, same run: the naive path with one transaction per document (claim size 1, every
  outcome committed alone), measured on a smaller count and compared per document
- PostgreSQL with 1 and with 2 workers (skipped with a reason when unreachable)

Usage: python benchmarks/engine_bench.py [--count 100000] [--baseline-count 5000]
                                         [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                                         [--compare CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOAL = 1000.0
WAVE1 = 3378.0
"""SQLite docs/s of the wave-1 engine (one target, no steps) on the CI-sized machine."""


def child(mode: str, folder: Path, url: str, count: int, naive: bool) -> dict:
    """Run one phase in this process and report its figures."""
    from syncd.engine import Engine
    from syncd.engine.memory import tune_collector
    from syncd.store import Store
    from syncd.testing.config import write_config
    from syncd.testing.plugin import PLUGIN

    config = write_config(
        folder,
        plugin={"count": count, "batch": 500},
        engine={"batch_size": 1 if naive else 200},
        pipelines=[{"name": "bench", "source": "synthetic", "targets": ["noop"]}],
        state_url=url,
    )
    store = Store.open(url)
    engine = Engine(config, store, extra_plugins=[PLUGIN], flush_every=1 if naive else 100)
    tune_collector()  # as `syncd run` does once its engine is built
    pipeline = config.settings.pipelines[0]
    out: dict = {}
    started = time.perf_counter()
    if mode in ("pull", "both"):
        t = time.perf_counter()
        out["pulled"] = engine.pull(pipeline).new
        out["pull_s"] = time.perf_counter() - t
    if mode in ("deliver", "both"):
        t = time.perf_counter()
        stats, _ = engine.deliver(pipeline)
        out["delivered"] = stats.delivered
        out["deliver_s"] = time.perf_counter() - t
    out["total_s"] = time.perf_counter() - started
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.close()
    store.close()
    return out


def spawn(mode: str, folder: Path, url: str, count: int, naive: bool = False,
          checkout: Path | None = None) -> subprocess.Popen:
    """A child process for one phase: this tree's, or another checkout's (its own venv)."""
    python, script = sys.executable, __file__
    if checkout is not None:
        python = str(checkout / ".venv" / "bin" / "python")
        script = str(checkout / "benchmarks" / "engine_bench.py")
    return subprocess.Popen(
        [python, script, "--child", mode, "--folder", str(folder), "--url", url,
         "--count", str(count), *(["--naive"] if naive else [])],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )


def collect(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({proc.returncode}): {out[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def single(folder: Path, url: str, count: int, naive: bool = False,
           checkout: Path | None = None) -> dict:
    result = collect(spawn("both", folder, url, count, naive, checkout))
    result["docs_per_s"] = count / result["total_s"]
    return result


def multi(folder: Path, url: str, count: int, workers: int) -> dict:
    pulled = collect(spawn("pull", folder, url, count))
    started = time.perf_counter()
    procs = [spawn("deliver", folder, url, count) for _ in range(workers)]
    results = [collect(p) for p in procs]
    deliver_s = time.perf_counter() - started
    total = pulled["total_s"] + deliver_s
    return {
        "pull_s": pulled["pull_s"], "deliver_s": deliver_s, "total_s": total,
        "delivered": sum(r["delivered"] for r in results),
        "per_worker": [r["delivered"] for r in results],
        "rss_mb": max([pulled["rss_mb"], *(r["rss_mb"] for r in results)]),
        "docs_per_s": count / total, "deliver_docs_per_s": count / deliver_s,
    }


def pg_schema_url(base: str) -> tuple[str, str] | None:
    try:
        import psycopg

        plain = base.replace("postgresql+psycopg://", "postgresql://")
        schema = f"syncd_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(plain, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{base}?options=-csearch_path%3D{schema}", schema
    except Exception as exc:
        print(f"PostgreSQL skipped: {base} unreachable ({exc})")
        return None


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def line(name: str, count: int, r: dict, baseline: float) -> str:
    return (f"{name:<28} {count:>8} docs  {r['docs_per_s']:>9.0f} docs/s  "
            f"(pull {r['pull_s']:.1f}s, deliver {r['deliver_s']:.1f}s)  peak RSS "
            f"{r['rss_mb']:.0f} MB  x{r['docs_per_s'] / baseline:.1f} vs baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--baseline-count", type=int, default=5_000)
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--child", choices=["pull", "deliver", "both"])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--naive", action="store_true")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout with its own .venv (e.g. the wave-1 engine) "
                             "measured on SQLite in the same run")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.url, args.count, args.naive)))
        return

    count, base_count = args.count, min(args.baseline_count, args.count)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)

        def sqlite(name: str) -> tuple[Path, str]:
            folder = root / name
            folder.mkdir()
            return folder, f"sqlite:///{folder / 'syncd.db'}"

        base = single(*sqlite("baseline"), base_count, naive=True)
        baseline = base["docs_per_s"]
        print(f"{'baseline (1 tx per document)':<28} {base_count:>8} docs  {baseline:>9.0f} "
              f"docs/s  (pull {base['pull_s']:.1f}s, deliver {base['deliver_s']:.1f}s)  "
              f"peak RSS {base['rss_mb']:.0f} MB  (SQLite)")
        lite = single(*sqlite("sqlite"), count)
        print(line("SQLite, 1 worker", count, lite, baseline))
        verdict = "met" if lite["docs_per_s"] >= GOAL else "MISSED"
        print(f"goal >= {GOAL:.0f} docs/s on SQLite: {verdict}")
        if args.compare is not None:  # the other engine on this machine, in this run
            other = single(*sqlite("compare"), count, checkout=args.compare)
            print(line(f"SQLite, {args.compare.name}", count, other, baseline)
                  + f"  this engine x{lite['docs_per_s'] / other['docs_per_s']:.2f} of it")
        else:
            print(f"wave-1 figure {WAVE1:.0f} docs/s (another day): "
                  f"{lite['docs_per_s'] / WAVE1:.2f}x of it; for a same-run comparison pass "
                  "--compare CHECKOUT (e.g. a worktree of 442eddd with its own .venv)")
        for workers in (1, 2):
            made = pg_schema_url(args.pg_url)
            if made is None:
                break
            url, schema = made
            folder = root / f"pg{workers}"
            folder.mkdir()
            try:
                result = multi(folder, url, count, workers)
            finally:
                drop_schema(args.pg_url, schema)
            label = f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}"
            print(line(label, count, result, baseline)
                  + f"  per worker {result['per_worker']}")


if __name__ == "__main__":
    main()
