"""The README's first command, as a newcomer runs it: `syncd demo` in an empty folder."""

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from syncd.testing import seller_today


def archived_pdfs(db: Path) -> list[bytes]:
    with sqlite3.connect(db) as conn:
        return [bytes(data) for (data,) in conn.execute(
            "SELECT b.data FROM rendered_files r JOIN attachment_blobs b ON b.sha256 = r.sha256"
            " WHERE r.media_type = 'application/pdf'")]


def test_demo_runs_the_whole_amazon_flow(tmp_path):
    out = subprocess.run([sys.executable, "-m", "syncd", "demo"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    # the PDFs as uploaded are the engine's (rendered_files), not a plugin folder of its own
    assert not (tmp_path / "syncd-demo" / "data" / "amazon" / "pdf").exists()
    assert not list((tmp_path / "syncd-demo").rglob("amazon.sqlite"))
    pdfs = archived_pdfs(tmp_path / "syncd-demo" / "syncd.db")
    assert len(pdfs) >= 14  # Amazon's 14, and Xentral's documents when it is in the demo
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
    texts = [PdfReader(io.BytesIO(pdf)).pages[0].extract_text() for pdf in pdfs]
    assert any(f"INV-{year}-000001" in text for text in texts)
    # issue 15 item 7: the demo says which checks ran on the emulator's traffic
    assert "request/response bodies checked against the " in out.stdout
    assert "off the official models" not in out.stdout
    # a second demo (Amazon's part only: the rest is paced by Xentral's 100 requests a minute)
    # starts from a clean state and gives the same numbers; this one as in a fresh clone,
    # without Amazon's models: the emulator's own checks run and say so
    env = {**os.environ, "SYNCD_AMAZON_SPECS": str(tmp_path / "no-models")}
    again = subprocess.run([sys.executable, "-m", "syncd", "demo", "--only", "amazon"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and f"INV-{year}-000001" in again.stdout
    assert ("request/response bodies checked against the emulator's own checks of every "
            "required field (the Amazon models are not available") in again.stdout
    assert "official" not in again.stdout.split("SP-API emulator on ")[1].split("\n")[0]
    assert len(archived_pdfs(tmp_path / "syncd-demo" / "syncd.db")) == 14  # Amazon's alone
