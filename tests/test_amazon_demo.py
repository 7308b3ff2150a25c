"""The README's first command, as a newcomer runs it: `syncd demo` in an empty folder."""

import os
import subprocess
import sys

from pypdf import PdfReader

from syncd.testing import seller_today


def test_demo_runs_the_whole_amazon_flow(tmp_path):
    out = subprocess.run([sys.executable, "-m", "syncd", "demo"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    pdfs = sorted((tmp_path / "syncd-demo" / "data" / "amazon" / "pdf").glob("*.pdf"))
    assert len(pdfs) == 14
    assert (tmp_path / "syncd-demo" / "syncd.toml").exists()
    year = seller_today().year
    for number in (f"INV-{year}-000001", f"CN-{year}-000001", f"INV-{year}-000011"):
        assert number in out.stdout
    assert "14 UPLOAD_VAT_INVOICE feed(s), 0 rejected, 0 duplicate(s)" in out.stdout
    assert "is-amazon-invoiced=true" in out.stdout
    # every flow that exists: the seeds' two and Amazon's own, Amazon's invoices also to Xentral
    assert "amazon-invoices: amazon → amazon, xentral (14 document(s))" in out.stdout
    assert "afterbuy: afterbuy → lexoffice (12 document(s))" in out.stdout
    # the same documents on any date: the emulator draws days by their offset, not their date
    assert "amainvoice-import: amainvoice → xentral, lexoffice (32 document(s))" in out.stdout
    assert "no pipeline" not in out.stdout
    assert "PDFs (exactly as uploaded, 14)" in out.stdout
    assert " error " not in out.stdout
    text = PdfReader(pdfs[0]).pages[0].extract_text()
    assert pdfs[0].stem in text
    # issue 15 item 7: the demo says which checks ran on the emulator's traffic
    assert "request/response bodies checked against the " in out.stdout
    assert "off the official models" not in out.stdout
    # a second demo starts from a clean state and gives the same numbers; this one as in a
    # fresh clone, without Amazon's models: the emulator's own checks run and say so
    env = {**os.environ, "SYNCD_AMAZON_SPECS": str(tmp_path / "no-models")}
    again = subprocess.run([sys.executable, "-m", "syncd", "demo"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"INV-{year}-000001" in again.stdout
    assert ("request/response bodies checked against the emulator's own checks of every "
            "required field (the Amazon models are not available") in again.stdout
    assert "official" not in again.stdout.split("SP-API emulator on ")[1].split("\n")[0]
    assert len(list(pdfs[0].parent.glob("*.pdf"))) == 14
