"""Invoice rendering throughput: naive WeasyPrint vs. syncd's batch path as the daemon runs it.

Runs in one process, same machine, same template, same reference invoice (3 lines):
  naive      one WeasyPrint write_pdf per invoice, system DejaVu Sans (the baseline)
  render()   PdfRenderer.render one invoice at a time (compact font), on count/10 invoices
  fast/1     PdfRenderer.render_many on one core (batch layout, pikepdf split)
  daemon/1   the daemon's path on one core: per claimed batch (the engine's batch_size, 200)
             Target.prepare fills a BatchPdfs (syncd.render.batch) with one render_many, then
             every delivery's render step takes its PDF from it, as the amazon, xentral and
             lexoffice targets do
  daemon/N   the same with the renderer's default process pool over all available cores
  zugferd/N  the daemon path with einvoice="zugferd": PDF/A-3b with embedded factur-x.xml

"per CPU-s" is invoices per second of this process's CPU time (time.process_time): the
per-core speed, largely independent of other load; pool runs report wall time only. The
headline "daemon path per core" is measured as the daemon runs: in a process of its own with a
warm renderer (fresh processes, median of --rounds); the in-process daemon/1 figure comes after
three other runs on the same heap and is printed beside it.

--compare CHECKOUT measures the daemon path of another checkout (its own .venv, e.g. main
before a change) against this one in the same run: both in fresh processes, alternating,
--rounds times each, so that both see the same machine load; the medians are compared.

Usage: python benchmarks/render_bench.py [--count 200] [--workers N] [--skip-naive]
                                         [--compare CHECKOUT] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pikepdf
from weasyprint import HTML

from syncd.model import Document
from syncd.render import RenderOptions
from syncd.render.batch import BatchPdfs
from syncd.render.environment import BUILTIN
from syncd.render.pdf import PdfRenderer, available_cores
from syncd.render.samples import reference_invoice


def tree_rss_mb(root: int) -> float:
    """Current RSS of `root` and all its descendants (pool workers), in MiB, from /proc.

    Walks only this tree (`/proc/<pid>/task/<tid>/children`): a scan of every process on the
    machine would cost this process CPU time that the per-CPU-second figures then count."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return total / 2**20


class PeakSampler:
    """Samples the RSS of this process tree every 250 ms while a run is going."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, tree_rss_mb(os.getpid()))

    def __enter__(self) -> PeakSampler:
        self.peak = tree_rss_mb(os.getpid())
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def naive(docs) -> list[bytes]:
    renderer = PdfRenderer(RenderOptions(), workers=1, compact_fonts=False)
    return [
        HTML(string=renderer.html([doc]), base_url=str(BUILTIN) + "/").write_pdf()
        for doc in docs
    ]


def daemon_path(renderer: PdfRenderer, docs: list[Document], claim: int = 200) -> list[bytes]:
    """What the engine and a PDF-uploading target do: `prepare(jobs)` per claimed batch, then
    one render step per delivery, each taking its own document's PDF from the batch."""
    pdfs = BatchPdfs(renderer)
    out: list[bytes] = []
    for start in range(0, len(docs), claim):
        batch = docs[start:start + claim]
        pdfs.prepare(batch)
        out.extend(pdfs.pdf(doc) for doc in batch)
    return out


def check(outputs: list[bytes], count: int, einvoice: bool) -> None:
    """Every output must be a standalone PDF with one page (and its XML when e-invoicing)."""
    assert len(outputs) == count, (len(outputs), count)
    for pdf in outputs[:: max(1, count // 50)]:
        with pikepdf.open(io.BytesIO(pdf)) as opened:
            assert len(opened.pages) == 1
            if einvoice:
                assert "factur-x.xml" in opened.attachments


def run(label: str, fn, docs, einvoice: bool = False, in_process: bool = True) -> dict:
    with PeakSampler() as sampler:
        start, cpu_start = time.perf_counter(), time.process_time()
        outputs = fn(docs)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    check(outputs, len(docs), einvoice)
    rate = len(docs) / elapsed
    size = statistics.mean(len(o) for o in outputs) / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # docs per CPU-second of this process: the per-core speed, even on a busy machine
    per_cpu = f"{len(docs) / cpu:6.1f}" if in_process else "     -"
    print(f"{label:<12} {len(docs):>6} docs {elapsed:8.2f} s {rate:8.1f} docs/s "
          f"{per_cpu} docs/CPU-s "
          f"avg {size:5.1f} KiB  peak RSS: process tree {sampler.peak:5.0f} MiB, "
          f"main process (lifetime) {own:5.0f} MiB  load {os.getloadavg()[0]:.1f}",
          flush=True)
    return {"rate": rate, "size": size, "per_cpu": len(docs) / cpu if in_process else None}


# the daemon path with APIs every checkout since the batch hook has; prints per-CPU-s as JSON
CHILD = """
import json, sys, time
from syncd.render import RenderOptions
from syncd.render.batch import BatchPdfs
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import reference_invoice
count, claim = int(sys.argv[1]), int(sys.argv[2])
docs = [reference_invoice(i) for i in range(1, count + 1)]
renderer = PdfRenderer(RenderOptions(), workers=1)
renderer.render_many(docs[:3])
pdfs = BatchPdfs(renderer)
start = time.process_time()
for first in range(0, count, claim):
    batch = docs[first:first + claim]
    pdfs.prepare(batch)
    assert all(pdfs.pdf(doc)[:5] == b"%PDF-" for doc in batch)
print(json.dumps({"per_cpu": count / (time.process_time() - start)}))
"""


def child_rate(checkout: Path, count: int, claim: int) -> float:
    """Invoices per CPU-second of the daemon path in a fresh process of `checkout`."""
    python = checkout / ".venv" / "bin" / "python"
    done = subprocess.run([str(python if python.exists() else sys.executable), "-c", CHILD,
                           str(count), str(claim)], cwd=checkout, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["per_cpu"]


def compare(other: Path, count: int, claim: int, rounds: int) -> None:
    here = Path(__file__).resolve().parents[1]
    rates: dict[str, list[float]] = {"this": [], "other": []}
    for _ in range(rounds):
        rates["other"].append(child_rate(other, count, claim))
        rates["this"].append(child_rate(here, count, claim))
    mine, theirs = (statistics.median(rates[k]) for k in ("this", "other"))
    print(f"daemon/1 same run, {rounds} alternating rounds (median invoices per CPU-s): "
          f"{other} {theirs:.1f} [{' '.join(f'{r:.1f}' for r in rates['other'])}], "
          f"this checkout {mine:.1f} [{' '.join(f'{r:.1f}' for r in rates['this'])}]: "
          f"x{mine / theirs:.2f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="invoices per run (200)")
    parser.add_argument("--workers", type=int, default=available_cores(),
                        help="processes for the parallel runs (all available cores)")
    parser.add_argument("--claim", type=int, default=200,
                        help="deliveries per claimed batch on the daemon path (engine default)")
    parser.add_argument("--skip-naive", action="store_true",
                        help="no baseline run (the ratio is then not printed)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout (with its own .venv) whose daemon path is "
                             "measured alternately with this one's in the same run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds per checkout for --compare (3)")
    args = parser.parse_args(argv)
    docs = [reference_invoice(i) for i in range(1, args.count + 1)]
    from weasyprint.text.ffi import harfbuzz_subset

    print(f"reference invoice: 3 lines; {args.count} invoices; cores available "
          f"{available_cores()}, workers {args.workers}; python {sys.version.split()[0]}; "
          f"font subsetting: {'HarfBuzz' if harfbuzz_subset else 'fontTools'}; "
          f"load {os.getloadavg()[0]:.1f}")
    # warm-up: imports, font configuration, template compilation
    PdfRenderer(RenderOptions(), workers=1).render_many(docs[:3])
    results = {}
    if not args.skip_naive:
        results["naive"] = run("naive", naive, docs)
    single = PdfRenderer(RenderOptions(), workers=1)
    results["render()"] = run("render()", lambda ds: [single.render(d) for d in ds],
                              docs[: max(10, args.count // 10)])
    results["fast/1"] = run("fast/1", PdfRenderer(RenderOptions(), workers=1).render_many, docs)
    one = PdfRenderer(RenderOptions(), workers=1)
    results["daemon/1"] = run("daemon/1", lambda ds: daemon_path(one, ds, args.claim), docs)
    pool = PdfRenderer(RenderOptions(), workers=args.workers)
    results["daemon/N"] = run(f"daemon/{args.workers}",
                              lambda ds: daemon_path(pool, ds, args.claim), docs,
                              in_process=args.workers <= 1)
    zugferd = PdfRenderer(RenderOptions(einvoice="zugferd"), workers=args.workers)
    results["zugferd/N"] = run(f"zugferd/{args.workers}",
                               lambda ds: daemon_path(zugferd, ds, args.claim), docs,
                               einvoice=True, in_process=args.workers <= 1)
    if "naive" in results:
        base = results["naive"]
        print("ratio to naive (wall): " + ", ".join(
            f"{k} {v['rate'] / base['rate']:.1f}x" for k, v in results.items() if k != "naive"))
        print("ratio to naive (per CPU-s): " + ", ".join(
            f"{k} {v['per_cpu'] / base['per_cpu']:.1f}x" for k, v in results.items()
            if k != "naive" and v["per_cpu"]))
    # the daemon's own process renders with a warm renderer and nothing else on its heap:
    # measured like that, in fresh processes of this checkout (median of --rounds)
    here = Path(__file__).resolve().parents[1]
    fresh = [child_rate(here, args.count, args.claim) for _ in range(args.rounds)]
    print(f"daemon path per core: {statistics.median(fresh):.1f} invoices per CPU-second in a "
          f"process of its own (median of {' '.join(f'{r:.1f}' for r in fresh)}; goal 40), "
          f"{results['daemon/1']['per_cpu']:.1f} as the 4th run in this process; "
          + (f"x{statistics.median(fresh) / results['naive']['per_cpu']:.1f} naive"
             if "naive" in results else "no naive run"))
    if args.compare is not None:
        compare(args.compare, args.count, args.claim, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
