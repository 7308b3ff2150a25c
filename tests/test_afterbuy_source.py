"""The `afterbuy` source on a fake inbox and the emulator: cursor, re-uploads, PDFs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from syncd.connectors import Rejected, Window
from syncd.errors import ConfigError, PermanentError, TransientError
from syncd_afterbuy.sandbox.generator import generate, make_invoices, write_csv
from syncd_afterbuy.source import BATCH
from syncd_afterbuy.testing import (
    MemoryInbox,
    documents,
    make_source,
    read_all,
    running_emulator,
)


@pytest.fixture
def emulator():
    with running_emulator(12) as em:
        yield em


def test_reads_pushed_files_once_and_the_same_file_twice_adds_nothing(tmp_path):
    inbox = MemoryInbox()
    export = generate(8)
    inbox.push("Rechnungsliste.csv", export.data)
    source = make_source(tmp_path, inbox)
    items, cursor = read_all(source)
    assert list(documents(items)) == export.numbers
    assert cursor == {"inbox": 1}
    again = inbox.push("Rechnungsliste (1).csv", export.data)
    assert again.id == 1
    assert read_all(source, cursor) == ([], cursor)


def test_a_cp1252_upload_is_read_and_the_log_names_file_and_encoding(tmp_path):
    from structlog.testing import capture_logs

    inbox = MemoryInbox()
    export = generate(4, encoding="cp1252")
    inbox.push("Rechnungsliste.csv", export.data)
    with capture_logs() as logs:
        items, _ = read_all(make_source(tmp_path, inbox))
    assert list(documents(items)) == export.numbers
    (warning,) = [e for e in logs if e["event"] == "afterbuy file is not UTF-8"]
    assert warning["log_level"] == "warning" and warning["encoding"] == "cp1252"
    assert warning["message"].startswith("Rechnungsliste.csv is not UTF-8")


def test_a_changed_reupload_yields_a_changed_document_with_the_same_key(tmp_path):
    inbox = MemoryInbox()
    invoices = make_invoices(6)
    inbox.push("januar.csv", write_csv(invoices).data)
    source = make_source(tmp_path, inbox)
    first, cursor = read_all(source)
    before = documents(first)["10003"]
    changed = write_csv(invoices).data.decode().replace("AB700014", "AB799999")
    inbox.push("januar-neu.csv", changed.encode())
    second, cursor = read_all(source, cursor)
    after = documents(second)["10003"]
    assert after.identity == before.identity and after.number == "10003"
    assert after.references.order_id == "AB799999"
    assert after.content_hash != before.content_hash
    assert after.extra["afterbuy:file"] == "januar-neu.csv (inbox 2)"
    assert cursor == {"inbox": 2}


def test_an_overlapping_export_leaves_unchanged_invoices_as_they_were(tmp_path):
    inbox = MemoryInbox()
    invoices = make_invoices(9)
    inbox.push("woche-1.csv", write_csv(invoices[:6]).data)
    source = make_source(tmp_path, inbox)
    first, cursor = read_all(source)
    changed = write_csv(invoices[3:]).data.decode().replace("AB700035", "AB788888")  # 10006
    inbox.push("woche-2.csv", changed.encode())
    second = documents(read_all(source, cursor)[0])
    before = documents(first)
    for number in ("10004", "10005"):  # in both files, unchanged: the same document
        assert second[number].content_hash == before[number].content_hash
        assert second[number].extra["afterbuy:file"] == "woche-1.csv (inbox 1)"
    assert second["10006"].content_hash != before["10006"].content_hash
    assert second["10006"].extra["afterbuy:file"] == "woche-2.csv (inbox 2)"
    assert second["10007"].extra["afterbuy:file"] == "woche-2.csv (inbox 2)"
    fresh = make_source(tmp_path, inbox)  # a new process rebuilds the index from the inbox
    again = documents(read_all(fresh, {"inbox": 1})[0])
    assert {k: d.content_hash for k, d in again.items()} == \
        {k: d.content_hash for k, d in second.items()}


def test_a_long_file_is_committed_in_batches_and_resumes_at_the_cursor(tmp_path):
    inbox = MemoryInbox()
    export = generate(BATCH * 2 + 37)
    inbox.push("gross.csv", export.data)
    source = make_source(tmp_path, inbox)
    batches = source.read(None)
    first = next(batches)  # the pipeline is paused after one committed batch
    assert len(first.items) == BATCH
    assert first.cursor == {"file": {"id": 1, "done": BATCH}}
    batches.close()
    rest, cursor = read_all(source, dict(first.cursor))
    seen = [d.source_key for d in first.items] + [d.source_key for d in rest]
    assert seen == export.numbers  # nothing lost, nothing twice
    assert cursor == {"inbox": 1}


def test_a_file_that_cannot_be_read_is_one_rejected_naming_it(tmp_path):
    inbox = MemoryInbox()
    inbox.push("export.csv", b"Nummer;Betrag\r\n1;2\r\n")
    inbox.push("gut.csv", generate(2).data)
    items, cursor = read_all(make_source(tmp_path, inbox))
    rejected = items[0]
    assert isinstance(rejected, Rejected) and rejected.source_key == "inbox-1"
    assert rejected.error.startswith("export.csv (inbox 1): missing column(s) ")
    assert len(documents(items)) == 2 and cursor == {"inbox": 2}


def test_a_reload_window_reads_the_files_received_in_it_again(tmp_path):
    inbox = MemoryInbox()
    inbox.push("alt.csv", generate(3).data, received_at=datetime(2026, 11, 2, 9, tzinfo=UTC))
    inbox.push("neu.csv", generate(2, start_number=20001).data,
               received_at=datetime(2026, 11, 5, 9, tzinfo=UTC))
    source = make_source(tmp_path, inbox)
    batches = list(source.read(None, Window(date(2026, 11, 2), date(2026, 11, 3))))
    keys = [i.source_key for b in batches for i in b.items]
    assert keys == ["10001", "10002", "10003"] and all(b.cursor is None for b in batches)


def test_pdfs_log_in_once_and_download_per_invoice(tmp_path, emulator):
    inbox = MemoryInbox()
    inbox.push("liste.csv", emulator.export.data)
    source = make_source(tmp_path, inbox, **emulator.config_values())
    docs = documents(read_all(source)[0])
    for number in ("10001", "10002", "10003"):
        doc = docs[number]
        (pdf,) = doc.attachments
        assert pdf.url == f"{emulator.url}/rechnungen/{number}.pdf"
        data = source.fetch_attachment(doc, pdf)
        assert data.startswith(b"%PDF-") and number.encode() in data
    assert emulator.count("login") == 1 and emulator.count("pdf", 200) == 3


def test_an_expired_session_logs_in_again_once(tmp_path, emulator):
    emulator.session_downloads = 2
    inbox = MemoryInbox()
    inbox.push("liste.csv", emulator.export.data)
    source = make_source(tmp_path, inbox, **emulator.config_values())
    docs = documents(read_all(source)[0])
    for number in ("10001", "10002", "10003", "10004"):
        assert source.fetch_attachment(docs[number], docs[number].attachments[0])
    assert emulator.count("pdf-expired") == 1
    assert emulator.count("login") == 2 and source.web.logins == 2


def test_a_wrong_password_is_a_config_error_and_never_shows_the_password(tmp_path, emulator):
    inbox = MemoryInbox()
    inbox.push("liste.csv", emulator.export.data)
    source = make_source(tmp_path, inbox, **emulator.config_values(password="falsch-geheim"))
    doc = documents(read_all(source)[0])["10001"]
    with pytest.raises(ConfigError) as info:
        source.fetch_attachment(doc, doc.attachments[0])
    assert "Afterbuy refused the login of user 'sandbox-user'" in str(info.value)
    assert "falsch-geheim" not in str(info.value)
    with pytest.raises(ConfigError):
        source.check()


def test_a_login_form_answered_again_with_200_and_a_cookie_is_a_wrong_password(
        tmp_path, emulator):
    """Many web logins answer refused credentials with 200, the form and an anonymous cookie."""
    emulator.refused_status = 200
    inbox = MemoryInbox()
    inbox.push("liste.csv", emulator.export.data)
    source = make_source(tmp_path, inbox, **emulator.config_values(password="falsch-geheim"))
    doc = documents(read_all(source)[0])["10001"]
    with pytest.raises(ConfigError, match=r"Afterbuy refused the login .*\(HTTP 200\)") as info:
        source.fetch_attachment(doc, doc.attachments[0])
    assert "falsch-geheim" not in str(info.value)
    assert emulator.count("login") == 1 and emulator.count("pdf-expired") == 0


def test_a_missing_pdf_is_permanent_and_a_retry_after_reset_fetches_it(tmp_path, emulator):
    inbox = MemoryInbox()
    inbox.push("liste.csv", emulator.export.data)
    source = make_source(tmp_path, inbox, **emulator.config_values())
    doc = documents(read_all(source)[0])["10005"]
    emulator.forget_pdf("10005")
    with pytest.raises(PermanentError, match="no PDF for invoice 10005"):
        source.fetch_attachment(doc, doc.attachments[0])
    emulator.add_pdf("10005")  # the seller fixed it in Afterbuy; the operator resets
    assert source.fetch_attachment(doc, doc.attachments[0]).startswith(b"%PDF-")


def test_pdfs_from_the_pdf_folder(tmp_path):
    inbox = MemoryInbox()
    inbox.push("liste.csv", generate(2).data)
    folder = tmp_path / "afterbuy-pdfs"
    folder.mkdir()
    (folder / "10001.pdf").write_bytes(b"%PDF-1.4 test")
    source = make_source(tmp_path, inbox, pdf_folder="afterbuy-pdfs")
    docs = documents(read_all(source)[0])
    assert docs["10001"].attachments[0].url == (folder / "10001.pdf").resolve().as_uri()
    assert source.fetch_attachment(docs["10001"], docs["10001"].attachments[0]) == \
        b"%PDF-1.4 test"
    with pytest.raises(PermanentError, match="no PDF for invoice 10002"):
        source.fetch_attachment(docs["10002"], docs["10002"].attachments[0])


def test_an_invoice_number_with_a_slash_never_leaves_the_pdf_folder(tmp_path):
    inbox = MemoryInbox()
    inbox.push("liste.csv", b"Rechnungsnummer;Rechnungsdatum;Brutto;MwSt-Satz\r\n"
               b"R/2026/17;03.11.2026;11,90;19\r\n../geheim;03.11.2026;11,90;19\r\n")
    folder = tmp_path / "afterbuy-pdfs"
    folder.mkdir()
    (folder / "R_2026_17.pdf").write_bytes(b"%PDF-1.4 R/2026/17")
    (tmp_path / "geheim.pdf").write_bytes(b"%PDF-1.4 outside the folder")
    source = make_source(tmp_path, inbox, pdf_folder="afterbuy-pdfs")
    docs = documents(read_all(source)[0])
    pdf = docs["R/2026/17"].attachments[0]
    assert pdf.filename == "R_2026_17.pdf"
    assert pdf.url == (folder / "R_2026_17.pdf").resolve().as_uri()
    assert source.fetch_attachment(docs["R/2026/17"], pdf) == b"%PDF-1.4 R/2026/17"
    with pytest.raises(PermanentError, match=r"no PDF for invoice \.\./geheim"):
        source.fetch_attachment(docs["../geheim"], docs["../geheim"].attachments[0])
    web = make_source(tmp_path, inbox, pdf_url="https://ab.example/pdf/{invoice_number}")
    (doc, _) = documents(read_all(web)[0]).values()
    assert doc.attachments[0].url == "https://ab.example/pdf/R%2F2026%2F17"


def test_pdfs_from_a_zip_uploaded_through_the_inbox(tmp_path):
    import io
    import zipfile

    inbox = MemoryInbox()
    inbox.push("liste.csv", generate(3).data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Belege/10002.pdf", b"%PDF-1.4 aus dem zip")
        archive.writestr("Belege/liesmich.txt", b"nothing")
    inbox.push("Belege.zip", buffer.getvalue())
    source = make_source(tmp_path, inbox, pdf_folder="leer")
    items, cursor = read_all(source)
    assert len(items) == 3 and cursor == {"inbox": 2}  # the archive is no invoice list
    docs = documents(items)
    assert source.fetch_attachment(docs["10002"], docs["10002"].attachments[0]) == \
        b"%PDF-1.4 aus dem zip"
    with pytest.raises(PermanentError, match="no PDF for invoice 10003"):
        source.fetch_attachment(docs["10003"], docs["10003"].attachments[0])


def test_server_errors_are_retried_and_a_lasting_outage_is_transient(tmp_path, emulator):
    inbox = MemoryInbox()
    inbox.push("liste.csv", emulator.export.data)
    source = make_source(tmp_path, inbox, **emulator.config_values())
    doc = documents(read_all(source)[0])["10001"]
    emulator.fail_next["pdf"] = [503, 429]
    assert source.fetch_attachment(doc, doc.attachments[0]).startswith(b"%PDF-")
    emulator.fail_next["pdf"] = [503] * 10
    with pytest.raises(TransientError, match="PDF of invoice 10001: HTTP 503"):
        source.fetch_attachment(doc, doc.attachments[0])
    emulator.fail_next["pdf"] = []
    emulator.fail_next["login"] = [502]
    emulator.expire_sessions()
    with pytest.raises(TransientError, match="Afterbuy login: HTTP 502"):
        source.fetch_attachment(doc, doc.attachments[0])
    assert source.fetch_attachment(doc, doc.attachments[0]).startswith(b"%PDF-")
