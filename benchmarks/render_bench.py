"""Invoice rendering throughput: naive WeasyPrint vs. syncd's batch-and-split fast path.

Runs in one process, same machine, same template, same reference invoice (3 lines):
  naive      one WeasyPrint write_pdf per invoice, system DejaVu Sans (the baseline)
  render()   PdfRenderer.render one invoice at a time (compact font), on count/10 invoices
  fast/1     PdfRenderer.render_many on one core (batch layout, pikepdf split)
  fast/N     PdfRenderer.render_many over all available cores (process pool)
  zugferd/N  the same with einvoice="zugferd": PDF/A-3b with embedded factur-x.xml

Usage: python benchmarks/render_bench.py [--count 1000] [--workers N] [--skip-naive]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import pikepdf
from weasyprint import HTML

from syncd.render import RenderOptions
from syncd.render.environment import BUILTIN
from syncd.render.pdf import PdfRenderer, available_cores
from syncd.render.samples import reference_invoice


def tree_rss_mb(root: int) -> float:
    """Current RSS of `root` and all its descendants (pool workers), in MiB, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(stat[1])
            rss[int(entry.name)] = int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
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
    return {"rate": rate, "size": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="invoices per run (1000)")
    parser.add_argument("--workers", type=int, default=available_cores(),
                        help="processes for the parallel runs (all available cores)")
    parser.add_argument("--skip-naive", action="store_true",
                        help="no baseline run (the ratio is then not printed)")
    args = parser.parse_args(argv)
    docs = [reference_invoice(i) for i in range(1, args.count + 1)]
    print(f"reference invoice: 3 lines; {args.count} invoices; cores available "
          f"{available_cores()}, workers {args.workers}; python {sys.version.split()[0]}")
    # warm-up: imports, font configuration, template compilation
    PdfRenderer(RenderOptions(), workers=1).render_many(docs[:3])
    results = {}
    if not args.skip_naive:
        results["naive"] = run("naive", naive, docs)
    single = PdfRenderer(RenderOptions(), workers=1)
    results["render()"] = run("render()", lambda ds: [single.render(d) for d in ds],
                              docs[: max(10, args.count // 10)])
    results["fast/1"] = run("fast/1", PdfRenderer(RenderOptions(), workers=1).render_many, docs)
    results["fast/N"] = run(f"fast/{args.workers}",
                            PdfRenderer(RenderOptions(), workers=args.workers).render_many, docs,
        in_process=False)
    results["zugferd/N"] = run(
        f"zugferd/{args.workers}",
        PdfRenderer(RenderOptions(einvoice="zugferd"), workers=args.workers).render_many,
        docs, einvoice=True, in_process=False,
    )
    if "naive" in results:
        base = results["naive"]["rate"]
        print("ratio to naive: " + ", ".join(
            f"{k} {v['rate'] / base:.1f}x" for k, v in results.items() if k != "naive"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
