"""`syncd afterbuy columns`, the plugin's registration and its config model."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from syncd.plugins import load_plugins
from syncd_afterbuy.config import AfterbuyConfig, Columns
from syncd_afterbuy.sandbox.generator import generate, make_invoices, write_csv


class Result:
    def __init__(self, click_result):
        self.returncode = click_result.exit_code
        self.stdout = click_result.stdout
        self.stderr = click_result.stderr


def syncd(*args, cwd):
    """The `syncd` command in-process with the installed plugins' commands, run in `cwd`."""
    import os

    from click.testing import CliRunner

    from syncd.cli import cli
    from syncd.cli.context import CliContext

    host = load_plugins()
    if "afterbuy" not in cli.commands:
        host.pm.hook.register_commands(cli=cli)
    before = os.getcwd()
    os.chdir(cwd)
    try:
        return Result(CliRunner().invoke(cli, list(args), obj=CliContext(config_path=None,
                                                                          host=host)))
    finally:
        os.chdir(before)


def test_columns_prints_the_headers_found_and_the_mapping_used(tmp_path):
    path = tmp_path / "liste.csv"
    path.write_bytes(generate(3, encoding="cp1252").data)
    result = syncd("afterbuy", "columns", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "encoding cp1252, delimiter ';', 17 columns" in out
    assert "note: liste.csv is not UTF-8" in out
    assert "Plattform   (ignored)" in out
    assert "invoice_number           = 'Rechnungsnummer'      column 1" in out
    short = tmp_path / "kurz.csv"
    short.write_text("Rechnungsnummer;Rechnungsdatum;Brutto;MwSt-Satz\n1;03.11.2026;11,90;19\n")
    out = syncd("afterbuy", "columns", str(short), cwd=tmp_path).stdout
    assert "payment_method           = 'Zahlart'              absent (optional)" in out


def test_columns_uses_the_configured_mapping_and_fails_on_a_missing_column(tmp_path):
    columns = Columns(invoice_number="Beleg")
    (tmp_path / "liste.csv").write_bytes(write_csv(make_invoices(2), columns=columns).data)
    result = syncd("afterbuy", "columns", "liste.csv", cwd=tmp_path)
    assert result.returncode == 1
    assert "MISSING (required)" in result.stdout and "invoice_number" in result.stderr
    (tmp_path / "syncd.toml").write_text('[plugins.afterbuy]\nenabled = true\n'
                                         '[plugins.afterbuy.columns]\ninvoice_number = "Beleg"\n')
    result = syncd("afterbuy", "columns", "liste.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "invoice_number           = 'Beleg'" in result.stdout


def test_the_plugin_registers_source_sandbox_demo_and_command():
    from syncd_afterbuy.demo import AfterbuyDemo
    from syncd_afterbuy.sandbox import AfterbuyEmulator
    from syncd_afterbuy.source import AfterbuySource

    registry = load_plugins().registry
    assert registry.sources["afterbuy"] is AfterbuySource
    assert registry.sandboxes["afterbuy"] is AfterbuyEmulator
    assert registry.demos["afterbuy"] is AfterbuyDemo
    assert registry.config_models["afterbuy"] is AfterbuyConfig
    assert {"config", "demo", "sandbox", "source"} <= set(registry.capabilities("afterbuy"))


@pytest.mark.parametrize(("values", "needle"), [
    ({"pdf_url": "https://x/pdf"}, "{invoice_number}"),
    ({"username": "u"}, "username and password go together"),
    ({"username": "u", "password": "p"}, "needs login_url and pdf_url"),
    ({"partner_token": "p"}, "partner_token and account_token"),
    ({"delimiter": "|"}, "delimiter"),
    ({"date_format": "dd.mm.yyyy"}, "strftime"),
    ({"credit_note_pattern": "(["}, "not a regular expression"),
    ({"columns": {"gross": ""}}, "required"),
    ({"columns": {"brutto": "x"}}, "brutto"),
])
def test_config_problems_are_named(values, needle):
    with pytest.raises(ValidationError, match=re_escape(needle)):
        AfterbuyConfig(**values)


def re_escape(text):
    import re

    return re.escape(text)


def test_secrets_are_secret():
    config = AfterbuyConfig(username="u", password="geheim", login_url="https://l",
                            pdf_url="https://p/{invoice_number}", partner_token="pt",
                            account_token="at")
    assert "geheim" not in repr(config) and "pt" not in str(config.partner_token)


def test_syncd_sandbox_afterbuy_serves_login_pdfs_and_the_csv(tmp_path):
    import httpx

    csv_path = tmp_path / "export.csv"
    proc = subprocess.Popen([sys.executable, "-m", "syncd", "sandbox", "afterbuy", "--invoices",
                             "5", "--csv", str(csv_path)], stdout=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        url = lines[1].split(" on ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url) as client:
            login = client.post("/login", data={"username": "sandbox-user",
                                                "password": "sandbox-password"})
            assert login.status_code == 302 and "ABSESSION" in login.cookies
            pdf = client.get("/rechnungen/10003.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
            assert client.get("/rechnungen/99999.pdf").status_code == 404
        assert csv_path.read_bytes().startswith(b"Rechnungsnummer;")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
