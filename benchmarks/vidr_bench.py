"""VIDR parser benchmark: rows/s and peak RSS of syncd's streaming path vs a naive load.

    python benchmarks/vidr_bench.py                 # 1,000,000 rows (and 100,000 for scale)
    python benchmarks/vidr_bench.py --sizes 200000  # quicker

Writes a SYNTHETIC VIDR (all documented columns, two rows per shipment placed half a file
apart, i.e. the worst case for grouping) and measures, each in a fresh process so peak RSS is
its own:

- baseline:  csv.DictReader into a list (what a naive importer does);
- parse:     syncd_amazon.vidr.VidrReader over every row;
- group:     parse + external-sort grouping per shipment transaction;
- documents: parse + group + Document/Rejected/Skipped items (the whole source path).

Prints figures and each mode's ratio to the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import csv, json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
count = 0
if mode == "baseline":
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    count = len(rows)
else:
    from syncd_amazon.vidr import VidrReader
    from syncd_amazon.grouping import Group, group_rows
    from syncd_amazon.documents import items_of, orphan_item
    with open(path, "rb") as fh:
        reader = VidrReader(fh, name=path)
        if mode == "parse":
            for _ in reader:
                count += 1
        else:
            for entry in group_rows(reader, reader.header):
                if not isinstance(entry, Group):
                    count += 1
                    continue
                count += len(entry.rows)
                if mode == "documents":
                    for _item in items_of(entry, path):
                        pass
elapsed = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": count, "seconds": elapsed, "peak_mib": peak_kib / 1024}))
"""


def write_vidr(path: Path, rows: int) -> None:
    from syncd_amazon.fixtures import row, to_tsv

    header, template = to_tsv([row(shipping_id="{sid}", transaction_id="T{sid}",
                                   order_id="302-{sid}-1", order_item_id="{n}")]).splitlines()
    template = template.replace("{", "{{").replace("}", "}}")
    for name in ("sid", "n"):
        template = template.replace("{{" + name + "}}", "{" + name + "}")
    shipments = max(1, rows // 2)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(header + "\n")
        for n in range(rows):
            out.write(template.format(sid=f"S{n % shipments:09d}", n=n) + "\n")


def measure(mode: str, path: Path) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", CHILD, mode, str(path)], check=True,
                            capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma-separated row counts (default: 100000,1000000)")
    parser.add_argument("--modes", default="baseline,parse,group,documents")
    args = parser.parse_args()
    modes = args.modes.split(",")
    with tempfile.TemporaryDirectory(prefix="vidr-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"vidr-{size}.tsv"
            started = time.perf_counter()
            write_vidr(path, size)
            mib = path.stat().st_size / 2**20
            print(f"\n{size:,} rows, {mib:,.0f} MiB SYNTHETIC VIDR "
                  f"(written in {time.perf_counter() - started:.1f}s)")
            base: dict[str, float] | None = None
            for mode in modes:
                got = measure(mode, path)
                rate = got["rows"] / got["seconds"]
                if mode == "baseline":
                    base = got
                ratio = ""
                if base is not None and mode != "baseline":
                    ratio = (f"  speed x{rate / (base['rows'] / base['seconds']):.2f} "
                             f"of baseline, peak RSS x{got['peak_mib'] / base['peak_mib']:.2f}")
                print(f"  {mode:<10} {rate:>10,.0f} rows/s  {got['seconds']:7.1f}s  "
                      f"peak RSS {got['peak_mib']:7.1f} MiB{ratio}")
            path.unlink()


if __name__ == "__main__":
    main()
