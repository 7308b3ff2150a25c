"""Afterbuy invoice-list parsing: a 100,000-row CSV into Documents, against csv.DictReader.

Each phase runs in a fresh process, so the peak RSS is that phase's own:

- baseline, same run: `list(csv.DictReader(...))` of the decoded file (strings only);
- syncd: decode (encoding check), dialect and header detection, amounts and dates parsed,
  rows grouped per invoice, every invoice built as a validated `Document` (to the cent) and
  handed on one at a time, as the source does (it never holds a file's Documents at once).

The ratio says what the full, checked parse costs over merely splitting the file.

Usage: python benchmarks/afterbuy_bench.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_file(path: Path, rows: int) -> int:
    from syncd_afterbuy.sandbox.generator import make_invoices, write_csv

    invoices = make_invoices(max(1, rows // 2), seed=7)  # more than enough: 1-5 rows each
    total = 0
    for n, invoice in enumerate(invoices):
        total += len(invoice.lines)
        if total >= rows:
            invoices = invoices[:n + 1]
            break
    export = write_csv(invoices)
    path.write_bytes(export.data)
    return export.rows


def child(mode: str, path: Path) -> dict:
    data = path.read_bytes()
    start, cpu = time.perf_counter(), time.process_time()
    if mode == "baseline":
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""),
                                   delimiter=";"))
        count, documents = len(rows), 0
    else:
        from syncd.model import Document
        from syncd_afterbuy.config import AfterbuyConfig
        from syncd_afterbuy.invoices import open_invoice_list

        invoice_list = open_invoice_list(data, path.name, AfterbuyConfig())
        documents = 0
        for item in invoice_list.items():  # as the source does: built, batched, handed on
            if not isinstance(item, Document):
                raise SystemExit(f"rejected: {item}")
            documents += 1
        invoices, _ = invoice_list.groups()
        count = sum(len(invoice.rows) for invoice in invoices)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "rows": count, "documents": documents, "seconds": seconds,
            "cpu": cpu, "peak_mb": peak}


def run(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Rechnungsliste.csv"
        rows = make_file(path, args.rows)
        size = path.stat().st_size / 1e6
        print(f"afterbuy_bench: {rows:,} rows, {size:.1f} MB (generated, ';', German decimals, "
              "quoted fields with ';' and line breaks)")
        base = run("baseline", path)
        full = run("syncd", path)
    for r in (base, full):
        r["rows_per_s"] = r["rows"] / r["cpu"]
    print(f"{'phase':<34}{'rows':>9}{'documents':>10}{'wall s':>8}{'CPU s':>7}"
          f"{'rows/CPU-s':>11}{'peak RSS':>10}")
    for label, r in (("baseline: csv.DictReader → list", base),
                     ("syncd: rows → validated Documents", full)):
        print(f"{label:<34}{r['rows']:>9,}{r['documents']:>10,}{r['seconds']:>8.2f}"
              f"{r['cpu']:>7.2f}{r['rows_per_s']:>11,.0f}{r['peak_mb']:>7.0f} MB")
    print(f"ratio: syncd needs ×{full['cpu'] / base['cpu']:.1f} the baseline's CPU time "
          f"(it parses and checks what the baseline only splits) and "
          f"×{full['peak_mb'] / base['peak_mb']:.2f} its peak memory. Wall times vary with the "
          "load of a shared machine; CPU seconds do not.")


if __name__ == "__main__":
    main()
