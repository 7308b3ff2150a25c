"""Render the sample invoices and credit notes in every language to PNG for a visual check.

Usage: python docs/samples/make_samples.py [--dpi 70] [--keep-pdf]
Needs pdftoppm (poppler-utils) on PATH; the PNGs land next to this script.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from syncd.render import RenderOptions
from syncd.render.language import LANGUAGES
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import (
    sample_credit_note,
    sample_export,
    sample_intra_eu,
    sample_invoice,
    sample_reverse_charge,
)

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", type=int, default=70)
    parser.add_argument("--keep-pdf", action="store_true", help="also keep the PDFs here")
    args = parser.parse_args(argv)
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: apt-get install poppler-utils", file=sys.stderr)
        return 2
    docs = {}
    for lang in LANGUAGES:
        docs[f"invoice-{lang}"] = sample_invoice(lang)
        docs[f"credit-note-{lang}"] = sample_credit_note(lang)
    docs["invoice-reverse-charge-fr"] = sample_reverse_charge()
    docs["invoice-intra-eu-fr"] = sample_intra_eu()
    docs["invoice-export-de"] = sample_export()
    pdfs = PdfRenderer(RenderOptions(einvoice="zugferd"), workers=1).render_many(
        list(docs.values()))
    with tempfile.TemporaryDirectory() as tmp:
        for name, pdf in zip(docs, pdfs, strict=True):
            path = Path(tmp) / f"{name}.pdf"
            path.write_bytes(pdf)
            if args.keep_pdf:
                (HERE / path.name).write_bytes(pdf)
            subprocess.run(["pdftoppm", "-r", str(args.dpi), "-png", "-singlefile", "-f", "1",
                            "-l", "1", str(path), str(HERE / name)], check=True)
            print(f"{HERE / name}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
