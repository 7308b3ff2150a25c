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
import resource
import statistics
import sys
import time

import pikepdf
from weasyprint import HTML

from syncd.render import RenderOptions
from syncd.render.environment import BUILTIN
from syncd.render.pdf import PdfRenderer, available_cores
from syncd.render.samples import reference_invoice


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident set size of this process and of its largest child, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


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


def run(label: str, fn, docs, einvoice: bool = False) -> dict:
    start = time.perf_counter()
    outputs = fn(docs)
    elapsed = time.perf_counter() - start
    check(outputs, len(docs), einvoice)
    rate = len(docs) / elapsed
    size = statistics.mean(len(o) for o in outputs) / 1024
    own, children = peak_rss_mb()
    print(f"{label:<12} {len(docs):>6} docs {elapsed:8.2f} s {rate:8.1f} docs/s "
          f"avg {size:6.1f} KiB  peak RSS self {own:6.0f} MiB children {children:6.0f} MiB",
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
                            PdfRenderer(RenderOptions(), workers=args.workers).render_many, docs)
    results["zugferd/N"] = run(
        f"zugferd/{args.workers}",
        PdfRenderer(RenderOptions(einvoice="zugferd"), workers=args.workers).render_many,
        docs, einvoice=True,
    )
    if "naive" in results:
        base = results["naive"]["rate"]
        print("ratio to naive: " + ", ".join(
            f"{k} {v['rate'] / base:.1f}x" for k, v in results.items() if k != "naive"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
