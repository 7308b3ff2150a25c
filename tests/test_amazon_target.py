"""AmazonTarget.deliver / find_existing / status_warnings against the emulator (SYNTHETIC)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from syncd.connectors import Job, NumberSeries, StepResult, Verdict
from syncd.errors import PermanentError, TransientError
from syncd.jobs import LinkedDocument
from syncd.model import Document, DocumentKind, LinkKind, LinkMatch, Marketplace, References
from syncd.store import Outcome
from syncd.store.open_deliveries import StoreDeliveries
from syncd.store.types import utcnow
from syncd_amazon import processing_report
from syncd_amazon.documents import build
from syncd_amazon.fixtures import DE, DEMO_VIDR, FR
from syncd_amazon.grouping import Group, group_rows
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.source import AmazonSource
from syncd_amazon.spapi import SpApiClient
from syncd_amazon.target import AmazonTarget
from syncd_amazon.testing import HtmlPdfRenderer, context, emulator_config
from syncd_amazon.vidr import VidrReader

INTERVAL = 0.25


@pytest.fixture
def emulator():
    with AmazonEmulator([DEMO_VIDR], speedup=100) as emu:
        yield emu


@pytest.fixture
def renderer():
    return HtmlPdfRenderer()


@pytest.fixture
def source(emulator, tmp_path):
    src = AmazonSource(emulator_config(emulator), context(tmp_path))
    yield src
    src.close()


@pytest.fixture
def target(emulator, tmp_path, renderer):
    tgt = AmazonTarget(emulator_config(emulator, upload_interval=f"{INTERVAL}s"),
                       context(tmp_path, renderer))
    yield tgt
    tgt.close()


def pending(source: AmazonSource) -> list:
    return [item for batch in source.read(None) for item in batch.items]


def doc(items: list, suffix: str, number: str) -> Document:
    found = next(i for i in items if isinstance(i, Document) and i.source_key.endswith(suffix))
    return found.with_number(number)


def job_of(document: Document, invoice: str | None = None, **steps: StepResult) -> Job:
    """A Job as the engine builds it; `invoice` is the linked invoice's number."""
    links = {}
    if invoice is not None:
        link = next(k for k in document.links if k.kind is LinkKind.INVOICE)
        links[LinkKind.INVOICE] = LinkedDocument(LinkKind.INVOICE, link.source_key or "",
                                                 invoice, None, None)
    return Job(document=document, pipeline="amazon", target="amazon", steps=steps,
               links=links)


def test_number_series_per_kind(target):
    invoice = NumberSeries("amazon-invoice", "INV-{year}-{seq:06d}")
    credit = NumberSeries("amazon-credit-note", "CN-{year}-{seq:06d}")
    items = read_demo()
    assert target.number_series(doc(items, "DEMO-S01/SHIPMENT/T-S01", "x")) == invoice
    assert target.number_series(doc(items, "DEMO-S01/RETURN/R-S01", "x")) == credit


def read_demo() -> list:
    with DEMO_VIDR.open("rb") as fh:
        reader = VidrReader(fh)
        out = []
        for g in group_rows(reader, reader.header):
            if isinstance(g, Group) and g.shipping_id != "DEMO-S08":
                out.append(build(g, "demo"))
        return out


def test_invoice_upload_sends_amazons_metadata_and_a_pdf(emulator, source, target, renderer):
    items = pending(source)
    invoice = doc(items, "DEMO-S03/SHIPMENT/T-S03", "INV-2026-000001")
    assert target.find_existing(invoice) is None
    ref = target.deliver(invoice)
    (feed,) = emulator.state.feeds.values()
    assert ref.ref == feed.feed_id and not feed.errors
    assert feed.marketplace_ids == [DE]
    assert feed.options == {
        "metadata:ShippingId": "DEMO-S03", "metadata:InvoiceNumber": "INV-2026-000001",
        "metadata:DocumentType": "Invoice", "metadata:TotalAmount": "53.55",
        "metadata:TotalVATAmount": "8.55",
    }
    upload = emulator.state.feed_documents[feed.document_id]
    assert upload.data.startswith(b"%PDF-") and upload.uploaded_content_type == "application/pdf"
    assert renderer.rendered[0].number == "INV-2026-000001"
    assert ref.detail["state"] == "processed"
    assert not emulator.state.spec_violations
    # the next pending VIDR no longer lists it; the All view shows Processing, then Uploaded
    assert not [i for i in pending(source) if getattr(i, "source_key", "").endswith("T-S03")]
    assert emulator.state.groups[(DE, "DEMO-S03", "SHIPMENT", "T-S03")].status == \
        "InvoiceProcessing"


def test_credit_note_uses_vidr_sums_and_the_invoice_number(emulator, source, target, renderer):
    items = pending(source)
    credit = doc(items, "DEMO-S03/REFUND/F-S03", "CN-2026-000001")
    assert credit.totals.gross == Decimal("53.55")  # positive in the model
    job = job_of(credit, invoice="INV-2026-000007")
    job = job.with_step("upload", target.run_step("upload", job))
    target.run_step("feed", job)
    (feed,) = emulator.state.feeds.values()
    assert not feed.errors
    assert feed.options["metadata:DocumentType"] == "CreditNote"
    assert feed.options["metadata:TransactionId"] == "F-S03"
    assert feed.options["metadata:TotalAmount"] == "-53.55"
    assert feed.options["metadata:TotalVATAmount"] == "-8.55"
    assert renderer.rendered[0].original_invoice_number == "INV-2026-000007"


def test_credit_note_links_to_its_invoice_and_names_its_number(emulator, source, target,
                                                               renderer):
    items = pending(source)
    credit = doc(items, "DEMO-S01/RETURN/R-S01", "CN-2026-000003")
    (link,) = credit.links  # the engine finds the invoice by it (tests/test_store_links_by)
    assert link.kind is LinkKind.INVOICE and link.required and link.source_key is None
    assert link.match == LinkMatch(shipping_id="DEMO-S01")
    with pytest.raises(TransientError) as err:  # the engine would not hand it over yet
        target.run_step("upload", job_of(credit))
    assert err.value.code == "OriginalNotNumbered"
    assert not emulator.state.calls("createFeedDocument")
    target.deliver(doc(items, "DEMO-S01/SHIPMENT/T-S01", "INV-2026-000011"))
    job = job_of(credit, invoice="INV-2026-000011")
    target.run_step("feed", job.with_step("upload", target.run_step("upload", job)))
    assert renderer.rendered[-1].original_invoice_number == "INV-2026-000011"
    assert [f.errors for f in emulator.state.feeds.values()] == [[], []]


def test_corrected_invoice_sends_its_transaction_id(emulator, source, target):
    items = pending(source)
    target.deliver(doc(items, "SHIPMENT/Correction:DEMO-S12", "INV-2026-000002"))
    target.deliver(doc(items, "REFUND/CorrectionReversal:DEMO-S12", "CN-2026-000002"))
    feeds = list(emulator.state.feeds.values())
    assert [f.errors for f in feeds] == [[], []]
    assert feeds[0].options["metadata:TransactionId"] == "Correction:DEMO-S12"


def test_bad_number_characters_are_refused_before_any_call(emulator, source, target):
    items = pending(source)
    with pytest.raises(PermanentError, match="characters Amazon refuses"):
        target.deliver(doc(items, "DEMO-S01/SHIPMENT/T-S01", "INV.2026.1"))
    assert not emulator.state.calls("createFeedDocument")


def test_totals_mismatch_is_never_uploaded(emulator, source, target):
    invoice = doc(pending(source), "DEMO-S01/SHIPMENT/T-S01", "INV-2026-000003")
    tampered = invoice.model_copy(update={"extra": {**invoice.extra,
                                                    "amazon:total-amount": "23.81"}})
    with pytest.raises(PermanentError) as err:
        target.deliver(tampered)
    assert err.value.code == "TotalsMismatch"
    assert not emulator.state.calls("createFeedDocument")


@pytest.mark.parametrize(("change", "code"), [
    ({"marketplace": Marketplace(id=FR)}, "79523"),
    ({"references": References(shipping_id="UNKNOWN-1", transaction_id="T-S01")}, "79517"),
])
def test_amazon_rejections_become_permanent_errors(emulator, source, target, change, code):
    invoice = doc(pending(source), "DEMO-S01/SHIPMENT/T-S01", "INV-2026-000004")
    with pytest.raises(PermanentError) as err:
        target.deliver(invoice.model_copy(update=change))
    assert err.value.code == code
    assert target.find_existing(invoice) is None


def test_amazon_invoiced_shipment_is_refused_with_79525(emulator, target):
    with DEMO_VIDR.open("rb") as fh:
        reader = VidrReader(fh)
        group = next(g for g in group_rows(reader, reader.header)
                     if isinstance(g, Group) and g.shipping_id == "DEMO-S08")
    with pytest.raises(PermanentError) as err:
        target.deliver(build(group, "demo").with_number("INV-2026-000005"))
    assert err.value.code == "79525"


def test_upload_pacing_respects_upload_interval(emulator, source, target, capsys):
    items = [i for i in pending(source) if isinstance(i, Document)
             and i.kind is DocumentKind.INVOICE][:4]
    for n, invoice in enumerate(items):
        target.deliver(invoice.with_number(f"INV-2026-{100 + n:06d}"))
    times = emulator.state.createfeed_times
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3 and min(gaps) >= INTERVAL
    with capsys.disabled():
        print(f"\n[amazon] createFeed spacing with upload_interval={INTERVAL}s: "
              f"min {min(gaps):.3f}s, max {max(gaps):.3f}s")


def test_lost_createfeed_answer_is_decided_by_the_all_view(emulator, source, target):
    """Issue 15 item 1: the feed reached Amazon, its answer did not reach syncd."""
    invoice = doc(pending(source), "DEMO-S02/SHIPMENT/T-S02", "INV-2026-000006")
    emulator.state.fail_next["createFeed"] = ["after"]
    job = job_of(invoice)
    job = job.with_step("upload", target.run_step("upload", job))
    with pytest.raises(TransientError):
        target.run_step("feed", job)  # a 500 after processing: createFeed is not retried
    assert len(emulator.state.createfeed_times) == 1
    # the pending view would never show it again; the engine asks find_step first
    found = target.find_step("feed", job)
    assert found is not None and found.detail["state"] == "InvoiceProcessing"
    checked = found.detail["looked_up"]
    assert "ReportOption=All" in checked and "invoice-status InvoiceProcessing" in checked
    (create,) = [r for r in emulator.state.calls("createReport")
                 if (r.body.get("reportOptions") or {}).get("ReportOption=All")]
    assert create.body["marketplaceIds"] == [DE]
    assert len(emulator.state.createfeed_times) == 1  # never uploaded twice


def test_createfeed_failing_before_amazon_got_it_is_sent_after_the_lookup(emulator, source,
                                                                         target):
    invoice = doc(pending(source), "DEMO-S02/SHIPMENT/T-S02", "INV-2026-000006")
    emulator.state.fail_next["createFeed"] = ["before"]
    job = job_of(invoice)
    job = job.with_step("upload", target.run_step("upload", job))
    with pytest.raises(TransientError):
        target.run_step("feed", job)
    assert target.find_step("feed", job) is None  # the All view still shows it pending
    result = target.run_step("feed", job)
    assert "invoice-status InvoicePending" in result.detail["looked_up"]
    assert len(emulator.state.feeds) == 1


def test_lookup_waits_for_upload_settle(emulator, source, tmp_path, renderer):
    tgt = AmazonTarget(emulator_config(emulator, upload_settle="10m"),
                       context(tmp_path, renderer))
    invoice = doc(pending(source), "DEMO-S02/SHIPMENT/T-S02", "INV-2026-000006")
    job = job_of(invoice)
    job = job.with_step("upload", tgt.run_step("upload", job))
    with pytest.raises(TransientError) as err:
        tgt.find_step("feed", job)
    assert err.value.code == "UploadOutcomeUnknown" and 590 < err.value.retry_after <= 600
    assert "VIDR All view is asked after" in str(err.value)
    assert not [r for r in emulator.state.calls("createReport")
                if (r.body.get("reportOptions") or {}).get("ReportOption=All")]
    tgt.close()


def test_a_lost_createfeed_is_looked_up_upload_settle_after_that_attempt(emulator, source,
                                                                        tmp_path, renderer):
    """The fault test's "delivered twice" race, made deterministic: the upload step was long
    ago (say createFeed was refused for an hour), then createFeed's answer is lost, and Amazon
    shows the upload in the VIDR only once it processed it. Trusting the VIDR at once (the
    settle time counted from the upload) would send the invoice a second time."""
    emulator.state.vidr_lag = 0.6
    tgt = AmazonTarget(emulator_config(emulator, upload_settle="1s"),
                       context(tmp_path, renderer))
    invoice = doc(pending(source), "DEMO-S02/SHIPMENT/T-S02", "INV-2026-000006")
    job = job_of(invoice)
    upload = tgt.run_step("upload", job)
    job = job.with_step("upload", StepResult(upload.ref, {**upload.detail,
                                                          "uploaded_at": time.time() - 3600}))
    emulator.state.fail_next["createFeed"] = ["after"]
    with pytest.raises(TransientError):
        tgt.run_step("feed", job)
    doubtful = dataclasses.replace(job, in_doubt_since=utcnow())  # what the engine hands over
    with pytest.raises(TransientError) as err:
        tgt.find_step("feed", doubtful)  # the VIDR still says pending: that proves nothing yet
    assert err.value.code == "UploadOutcomeUnknown" and 0.8 < err.value.retry_after <= 1.0
    assert "after the last attempt that may have sent it" in str(err.value)
    time.sleep(err.value.retry_after)
    found = tgt.find_step("feed", doubtful)
    assert found is not None and found.detail["state"] == "InvoiceProcessing"
    assert len(emulator.state.feeds) == 1 and emulator.state.duplicate_uploads == []
    tgt.close()


def test_a_shipment_the_all_view_does_not_list_is_not_sent_again(emulator, source, target):
    invoice = doc(pending(source), "DEMO-S02/SHIPMENT/T-S02", "INV-2026-000006")
    job = job_of(invoice)
    job = job.with_step("upload", target.run_step("upload", job))
    assert invoice.order_date and invoice.delivery_date
    elsewhere = timedelta(days=60)  # a window without this shipment: Amazon's "no data"
    job = dataclasses.replace(job, document=invoice.model_copy(update={
        "order_date": invoice.order_date - elsewhere,
        "delivery_date": invoice.delivery_date - elsewhere}))
    with pytest.raises(TransientError) as err:
        target.find_step("feed", job)
    assert err.value.code == "UploadNotListed"
    assert "the shipment is not listed" in str(err.value) and "not sent again" in str(err.value)
    assert emulator.state.feeds == {}


def test_resend_of_a_landed_invoice_is_refused_by_the_lookup(emulator, source, target):
    invoice = doc(pending(source), "DEMO-S05/SHIPMENT/T-S05", "INV-2026-000013")
    assert target.find_step("upload", job_of(invoice)) is None  # a first upload: no lookup
    target.deliver(invoice)
    resend = Job(document=invoice, pipeline="amazon", target="amazon", resend=True)
    found = target.find_step("upload", resend)
    assert found is not None and "InvoiceProcessing" in found.detail["looked_up"]
    assert len(emulator.state.feeds) == 1


def test_late_rejection_comes_back_as_verdict_then_resend(emulator, source, target):
    invoice = doc(pending(source), "DEMO-S01/SHIPMENT/T-S01", "INV-2026-000008")
    emulator.state.late_rejections["DEMO-S01"] = "Rechnungsnummer unleserlich"
    target.deliver(invoice)  # the feed itself says DONE without errors
    items = pending(source)
    (verdict,) = [i for i in items if isinstance(i, Verdict)]
    assert verdict.source_key == invoice.source_key and not verdict.accepted
    assert verdict.message == "Rechnungsnummer unleserlich"
    assert target.find_existing(invoice) is None  # the engine may resend after a reset
    target.deliver(invoice)
    assert not [i for i in pending(source) if isinstance(i, Verdict)]
    assert emulator.state.duplicate_uploads == []
    assert emulator.state.groups[(DE, "DEMO-S01", "SHIPMENT", "T-S01")].status == \
        "InvoiceProcessing"


def test_sla_warnings_near_the_24_hour_deadline(emulator, source, syncd_store, tmp_path):
    """From the engine's store (every host sees the same): invoices whose delivery to the
    target is not done, by the VIDR's shipment date."""
    store = syncd_store
    items = pending(source)
    store.ingest("amazon", "amazon", ["amazon"], items, None)
    shipped = doc(items, "DEMO-S01/SHIPMENT/T-S01", "x")
    at = datetime.fromisoformat(shipped.extra["amazon:shipment-date"])
    ctx = dataclasses.replace(context(tmp_path / "t"), pipeline="amazon",
                              deliveries=StoreDeliveries(store, "amazon", "amazon"))
    target = AmazonTarget(emulator_config(emulator), ctx)
    assert target.status_warnings(at + timedelta(hours=10)) == []
    warnings = target.status_warnings(at + timedelta(hours=19))
    assert any("DEMO-S01" in w and "(in 5h00m)" in w for w in warnings)
    assert not any("DEMO-S08" in w for w in warnings)  # Amazon invoices that one
    assert not any("RETURN" in w or "REFUND" in w for w in warnings)  # invoices only
    late = target.status_warnings(at + timedelta(hours=30))
    assert any("DEMO-S01" in w and "passed" in w for w in late)
    # its upload is done (the engine's state, whichever host uploaded it): no warning
    claimed = store.claim("amazon", "w", 100, timedelta(minutes=5), lambda d: None)
    now = utcnow()
    store.finish("w", [Outcome(claimed=c, state="done", action="deliver", result="done",
                               started_at=now, finished_at=now, remote_ref="F-1")
                       for c in claimed if c.document.source_key == shipped.source_key])
    after = target.status_warnings(at + timedelta(hours=19))
    assert not any("DEMO-S01 " in w for w in after)
    assert any("DEMO-S02 " in w for w in after)  # claimed, not done: still warned
    target.close()


def test_the_target_keeps_no_files_of_its_own(emulator, source, target, tmp_path):
    """No private state (`amazon.sqlite`) and no PDF archive of its own: the engine's
    rendered-file archive keeps the PDFs (tests/test_render_archive.py)."""
    items = pending(source)
    target.deliver(doc(items, "DEMO-S01/SHIPMENT/T-S01", "INV-2026-000009"))
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file())
    assert left == []


def window_for_demo():
    from datetime import date

    from syncd.connectors import Window

    return Window(date(2026, 11, 1), date(2026, 11, 30))


# -- the emulator's own checks of invoice uploads -----------------------------------------------

def raw_upload(emulator, options: dict[str, str], *, data: bytes = b"%PDF-1.7 fake",
               content_type: str = "application/pdf", marketplaces: list[str] | None = None,
               upload: bool = True) -> list[processing_report.ReportError]:
    api = SpApiClient(emulator_config(emulator))
    document = api.create_feed_document(content_type)
    if upload:
        api.upload(document["url"], data, content_type)
    feed_id = api.create_feed("UPLOAD_VAT_INVOICE", marketplaces or [DE],
                              document["feedDocumentId"], options)
    deadline = time.monotonic() + 30
    while (feed := api.get_feed(feed_id))["processingStatus"] != "DONE":
        assert time.monotonic() < deadline, f"feed {feed_id} never finished: {feed}"
        time.sleep(0.01)
    result = api.get_feed_document(feed["resultFeedDocumentId"])
    data = api.files.get(result["url"]).content
    return processing_report.parse(processing_report.decode(data)).errors


GOOD = {"metadata:ShippingId": "DEMO-S01", "metadata:InvoiceNumber": "INV-1",
        "metadata:DocumentType": "Invoice", "metadata:TotalAmount": "23.80",
        "metadata:TotalVATAmount": "3.80"}


@pytest.mark.parametrize(("options", "kwargs", "code"), [
    ({**GOOD}, {"data": b"not a pdf"}, "79503"),
    ({**GOOD}, {"content_type": "application/octet-stream"}, "79503"),
    ({k.removeprefix("metadata:"): v for k, v in GOOD.items()}, {}, "79513"),
    ({k: v for k, v in GOOD.items() if k != "metadata:InvoiceNumber"}, {}, "79513"),
    ({**GOOD, "metadata:DocumentType": "Rechnung"}, {}, "79531"),
    ({**GOOD}, {"marketplaces": [DE, FR]}, "79523"),
    ({**GOOD, "metadata:ShippingId": "NOPE"}, {}, "79517"),
    ({**GOOD, "metadata:TotalAmount": "23.79"}, {}, "TotalAmountMismatch"),
    ({**GOOD, "metadata:DocumentType": "CreditNote"}, {}, "79513"),
    ({**GOOD}, {"upload": False}, "79540"),
])
def test_emulator_checks_uploads(emulator, options, kwargs, code):
    errors = raw_upload(emulator, options, **kwargs)
    assert code in [e.code for e in errors]


def test_throttled_createfeed_and_expired_token_still_upload_once(emulator, source, target):
    invoice = doc(pending(source), "DEMO-S04/SHIPMENT/T-S04", "INV-2026-000012")
    emulator.state.expire_tokens()
    emulator.state.throttle_next["createFeed"] = 3
    target.deliver(invoice)
    assert [r.status for r in emulator.state.calls("createFeed")] == [429, 429, 429, 202]
    assert len(emulator.state.feeds) == 1


def test_emulator_checks_the_number_is_printed_on_the_pdf(emulator):
    pytest.importorskip("pypdf", reason="the emulator reads PDF text with pypdf (test extra)")
    from weasyprint import HTML

    pdf = HTML(string="<h1>Invoice INV-2</h1>").write_pdf()
    errors = raw_upload(emulator, {**GOOD, "metadata:InvoiceNumber": "INV-1"}, data=pdf)
    assert [e.code for e in errors] == ["InvoiceNumberNotOnPdf"]
    assert raw_upload(emulator, {**GOOD, "metadata:InvoiceNumber": "INV-2"}, data=pdf) == []


def test_pacing_holds_across_threads_and_instances(emulator, source, tmp_path, renderer):
    from concurrent.futures import ThreadPoolExecutor

    invoices = [i for i in pending(source) if isinstance(i, Document)
                and i.kind is DocumentKind.INVOICE][:4]
    config = emulator_config(emulator, upload_interval=f"{INTERVAL}s")
    targets = [AmazonTarget(config, context(tmp_path, renderer)) for _ in range(2)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: targets[n % 2].deliver(
            invoices[n].with_number(f"INV-2026-{200 + n:06d}")), range(4)))
    times = sorted(emulator.state.createfeed_times)
    assert len(times) == 4
    assert min(b - a for a, b in itertools.pairwise(times)) >= INTERVAL
    for target in targets:
        target.close()


class BatchCountingRenderer(HtmlPdfRenderer):
    """Counts the renderer's batch calls apart from single renders."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.singles = 0

    def render_many(self, documents):
        self.batches.append(len(documents))
        return [super(BatchCountingRenderer, self).render(d) for d in documents]

    def render(self, document):
        self.singles += 1
        return super().render(document)


def test_prepare_renders_the_batch_in_one_go(emulator, source, tmp_path):
    renderer = BatchCountingRenderer()
    tgt = AmazonTarget(emulator_config(emulator), context(tmp_path, renderer))
    items = pending(source)
    jobs = [job_of(doc(items, f"DEMO-S0{n}/SHIPMENT/T-S0{n}", f"INV-2026-00003{n}"))
            for n in (1, 2, 3)]
    credit = job_of(doc(items, "DEMO-S01/RETURN/R-S01", "CN-2026-000031"),
                    invoice="INV-2026-000031")
    waiting = job_of(doc(items, "DEMO-S03/REFUND/F-S03", "CN-2026-000032"))  # no number yet
    tgt.prepare([*jobs, credit, waiting])
    assert renderer.batches == [4] and renderer.singles == 0
    for job in [*jobs, credit]:
        tgt.run_step("feed", job.with_step("upload", tgt.run_step("upload", job)))
    assert renderer.singles == 0  # every upload used the batch's PDF
    assert renderer.rendered[-1].original_invoice_number == "INV-2026-000031"
    assert [f.errors for f in emulator.state.feeds.values()] == [[]] * 4
    changed = jobs[0].document.model_copy(update={"number": "INV-2026-000099"})
    tgt.run_step("upload", job_of(changed))  # not what was prepared: rendered on its own
    assert renderer.singles == 1
    tgt.close()
