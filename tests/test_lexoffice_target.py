"""The lexoffice target against its emulator: mapping, categories, steps, errors, never twice."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.errors import ConfigError, InputError, PermanentError, TransientError
from syncd.jobs import StepResult, StoredAttachment
from syncd.model import AttachmentRole, LegalNotes
from syncd_lexoffice.client import AmbiguousWrite
from syncd_lexoffice.config import LexofficeOptions
from syncd_lexoffice.errors import describe
from syncd_lexoffice.sandbox import LexofficeEmulator
from syncd_lexoffice.testing import TinyRenderer, deliver, make_job, make_target, sample_document

RATE = 50.0


@pytest.fixture
def emulator():
    with LexofficeEmulator(rate=RATE) as emu:
        yield emu


@pytest.fixture
def target(emulator, tmp_path):
    t = make_target(emulator, tmp_path)
    yield t
    t.close()


def vouchers(emulator, number):
    return emulator.state.by_number(number)


def engine_like(target, job):
    """What the engine does: run each missing step; after a transient error look it up
    with find_step before running it again."""
    for step in target.steps(job.document):
        for _attempt in range(10):
            if step in job.steps:
                break
            try:
                job = job.with_step(step, target.run_step(step, job))
            except TransientError:
                found = target.find_step(step, job)
                if found is not None:
                    job = job.with_step(step, found)
        assert step in job.steps, f"step {step} never succeeded"
    return job


# mapping ---------------------------------------------------------------------------------------
def test_invoice_becomes_a_gross_voucher_grouped_by_rate(emulator, target):
    doc = sample_document("1", lines=[("100.00", "0.19"), ("20.00", "0.19"), ("10.00", "0.07")])
    job = deliver(target, make_job(doc))
    [voucher] = vouchers(emulator, "RE-1")
    body = voucher.body
    goods = next(c["id"] for c in emulator.state.categories if c["name"] == "Warenverkäufe")
    assert body["type"] == "salesinvoice" and body["taxType"] == "gross"
    assert body["voucherDate"] == body["shippingDate"] == "2026-03-14"
    assert body["voucherItems"] == [
        {"amount": 142.8, "taxAmount": 22.8, "taxRatePercent": 19, "categoryId": goods},
        {"amount": 10.7, "taxAmount": 0.7, "taxRatePercent": 7, "categoryId": goods}]
    assert Decimal(str(body["totalGrossAmount"])) == doc.totals.gross == Decimal("153.50")
    assert body["totalTaxAmount"] == 23.5
    assert body["useCollectiveContact"] is True and body["contactName"] == "Erika Mustermann"
    assert body["remark"] == "afterbuy order ORD-1, marketplace ebay.de"
    assert job.steps["voucher"].ref == voucher.id
    assert len(voucher.files) == 1 and job.steps["file"].ref == voucher.files[0]


def test_credit_note_is_a_salescreditnote_with_positive_amounts(emulator, target):
    doc = sample_document("cn", number="GS-1", kind="credit_note",
                          original_invoice_number="RE-7")
    deliver(target, make_job(doc))
    [voucher] = vouchers(emulator, "GS-1")
    assert voucher.body["type"] == "salescreditnote"
    assert voucher.body["totalGrossAmount"] == 119 and voucher.body["totalTaxAmount"] == 19
    assert voucher.body["voucherItems"][0]["amount"] == 119
    assert "credit note for invoice RE-7" in voucher.body["remark"]
    assert target.steps(doc) == ("voucher", "file")


def test_credit_note_names_its_linked_invoice(emulator, target):
    from syncd.jobs import LinkedDocument, RemoteRef
    from syncd.model import LinkKind

    doc = sample_document("cn2", number="GS-2", kind="credit_note")
    link = LinkedDocument(LinkKind.INVOICE, "inv-2", "RE-2", date(2026, 3, 1), RemoteRef("v-2"))
    job = make_job(doc)
    job = type(job)(**{**job.__dict__, "links": {LinkKind.INVOICE: link}})
    target.run_step("voucher", job)
    assert "credit note for invoice RE-2" in vouchers(emulator, "GS-2")[0].body["remark"]


def test_non_eur_document_is_refused_before_anything_is_sent(emulator, target):
    doc = sample_document("chf", currency="CHF")
    with pytest.raises(PermanentError, match="currency CHF: lexoffice bookkeeping vouchers are "
                                             "EUR only"):
        target.validate(doc)
    with pytest.raises(PermanentError, match="EUR only"):
        target.run_step("voucher", make_job(doc))
    assert emulator.state.count(method="POST") == 0


def test_intra_eu_delivery_books_against_a_contact_found_or_created_once(emulator, target):
    legal = LegalNotes(intra_eu=True, reverse_charge=True)
    docs = [sample_document(k, lines=[("50.00", "0")], country="FR", company="Client SARL",
                            vat_id="FR12345678901", legal=legal) for k in ("a", "b")]
    for doc in docs:
        deliver(target, make_job(doc))
    assert len(emulator.state.contacts) == 1
    [contact] = emulator.state.contacts.values()
    assert contact["company"]["vatRegistrationId"] == "FR12345678901"
    body = vouchers(emulator, "RE-a")[0].body
    intra = next(c["id"] for c in emulator.state.categories
                 if c["name"] == "Innergemeinschaftliche Lieferung")
    assert body["voucherItems"][0]["categoryId"] == intra
    assert body["contactId"] == contact["id"] and "contactName" not in body
    # a fresh target (new process) finds the contact instead of creating a second one
    other = make_target(emulator, target.context.data_dir)
    deliver(other, make_job(sample_document("c", lines=[("5.00", "0")], country="FR",
                                            company="Client SARL", vat_id="FR12345678901",
                                            legal=legal)))
    assert len(emulator.state.contacts) == 1


def test_export_and_oss_destination_categories(tmp_path):
    with LexofficeEmulator(rate=RATE, destination_principle=True) as emu:
        target = make_target(emu, tmp_path)
        deliver(target, make_job(sample_document("ch", lines=[("80.00", "0")], country="CH")))
        deliver(target, make_job(sample_document("fr", lines=[("80.00", "0.20")], country="FR")))
        names = {c["id"]: c["name"] for c in emu.state.categories}
        export = vouchers(emu, "RE-ch")[0].body
        assert names[export["voucherItems"][0]["categoryId"]] == "Ausfuhrlieferungen an Drittländer"
        assert export["contactId"]
        oss = vouchers(emu, "RE-fr")[0].body
        assert names[oss["voucherItems"][0]["categoryId"]] == \
            "Fernverkauf in EU-Land steuerpflichtig"
        assert oss["voucherItems"][0]["taxRatePercent"] == 20


def test_category_option_overrides_the_automatic_choice(emulator, target):
    options = LexofficeOptions(category="Dienstleistungen", remark_prefix="Shop B")
    deliver(target, make_job(sample_document("s"), options=options))
    body = vouchers(emulator, "RE-s")[0].body
    assert body["voucherItems"][0]["categoryId"] == next(
        c["id"] for c in emulator.state.categories if c["name"] == "Dienstleistungen")
    assert body["remark"].startswith("Shop B, afterbuy order")
    with pytest.raises(PermanentError, match="no income posting category 'Nope'"):
        target.run_step("voucher", make_job(sample_document("t"),
                                            options=LexofficeOptions(category="Nope")))


def test_categories_fall_back_to_the_file_when_the_endpoint_fails(emulator, tmp_path,
                                                                   shared_specs):
    spec = shared_specs / "lexoffice" / "posting-categories-sales.json"
    emulator.state.inject("GET", r"^/v1/posting-categories$", 403, after_effect=False, times=9)
    without = make_target(emulator, tmp_path)
    with pytest.raises(PermanentError, match="posting-categories: HTTP 403"):
        without.run_step("voucher", make_job(sample_document("nf")))
    assert emulator.state.count(method="POST") == 0
    target = make_target(emulator, tmp_path, categories_file=str(spec))
    deliver(target, make_job(sample_document("fb")))
    deliver(target, make_job(sample_document("eu", lines=[("50.00", "0")], country="FR",
                                             company="Client SARL", vat_id="FR12345678901",
                                             legal=LegalNotes(intra_eu=True))))
    goods = vouchers(emulator, "RE-fb")[0].body["voucherItems"][0]["categoryId"]
    assert goods == "8f8664a8-fd86-11e1-a21f-0800200c9a66"  # Warenverkäufe in the file
    assert vouchers(emulator, "RE-eu")[0].body["contactId"]  # the file's rows need a contact
    broken = tmp_path / "broken.json"
    broken.write_text('{"categories": [{"name": "Warenverkäufe"}]}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.json: categories\[0\]: needs 'id'"):
        make_target(emulator, tmp_path, categories_file=str(broken)).check()


def test_per_buyer_contact_mode(emulator, tmp_path):
    target = make_target(emulator, tmp_path, contact="per-buyer")
    deliver(target, make_job(sample_document("p")))
    body = vouchers(emulator, "RE-p")[0].body
    assert body["contactId"] and body["useCollectiveContact"] is False
    [contact] = emulator.state.contacts.values()
    assert contact["person"]["lastName"] == "Erika Mustermann"


# errors ----------------------------------------------------------------------------------------
def test_406_is_permanent_and_names_the_field(emulator, target):
    target.check()  # categories read at start; then the account's list changes
    emulator.state.categories = [c for c in emulator.state.categories
                                 if c["name"] != "Warenverkäufe"]
    with pytest.raises(PermanentError) as caught:
        target.run_step("voucher", make_job(sample_document("406")))
    assert "HTTP 406: voucherItems[0].categoryId: invalid_value" in str(caught.value)
    assert caught.value.code == "406" and "\n" not in str(caught.value)


def test_a_foreign_rate_outside_oss_is_refused_before_sending(emulator, target):
    doc = sample_document("fr", lines=[("10.00", "0.20")], country="FR")  # origin principle
    with pytest.raises(PermanentError, match=r"voucherItems\[0\].taxRatePercent 20 is not a "
                                             r"German rate; .* distanceSalesPrinciple = "
                                             r"DESTINATION \(category here: 'Fernverkauf'\)"):
        target.run_step("voucher", make_job(doc))
    assert emulator.state.count(method="POST") == 0


def test_error_envelopes_become_one_line():
    assert describe({"IssueList": [{"i18nKey": "invalid_value",
                                    "source": "voucherItems[0].taxRatePercent",
                                    "type": "validation_failure"}]}) == \
        "voucherItems[0].taxRatePercent: invalid_value"
    assert describe({"status": 400, "details": [{"violation": "NOTNULL",
                                                 "field": "lineItems[0].unitPrice"}]}) == \
        "lineItems[0].unitPrice: NOTNULL"
    assert describe({"message": "Endpoint request timed out"}) == "Endpoint request timed out"
    assert describe("Invalid or missing upload type.") == "Invalid or missing upload type."
    assert describe({"i18nKey": "missing_entity", "source": "file"}) == "file: missing_entity"
    assert describe({"message": "Fehler in\nZeile 2\r\n"}) == "Fehler in Zeile 2"
    assert describe({"IssueList": [{"i18nKey": "invalid_value", "source": "remark"},
                                   {"i18nKey": "missing_entity", "source": "voucherDate"}]}) == \
        "remark: invalid_value; voucherDate: missing_entity"
    assert describe("  \n") == "empty error body"


@pytest.mark.parametrize("how", ["wrong", "expired"])
def test_refused_api_key_stops_with_one_line_and_does_not_hammer(emulator, tmp_path, how):
    if how == "wrong":
        target = make_target(emulator, tmp_path, api_key="not-the-key")
    else:
        target = make_target(emulator, tmp_path)
        target.check()
        emulator.state.key_valid = False
    for key in ("x", "y", "z"):
        with pytest.raises(ConfigError) as caught:
            job = make_job(sample_document(key))
            target.prepare([job])
            target.run_step("voucher", job)
        assert "401 Unauthorized" in str(caught.value) and "\n" not in str(caught.value)
        assert "not-the-key" not in str(caught.value)
    assert emulator.state.count(status=401) == 1


def test_pdf_over_5_mb_is_refused_before_sending(emulator, tmp_path):
    target = make_target(emulator, tmp_path, renderer=TinyRenderer(pad=5 * 1024 * 1024))
    job = make_job(sample_document("big"))
    with pytest.raises(PermanentError, match=r"RE-big.pdf is 5.0 MB; lexoffice accepts files "
                                             "up to 5 MB"):
        target.run_step("voucher", job)  # checked before the voucher is created
    assert emulator.state.count(method="POST") == 0
    job = job.with_step("voucher", StepResult("v-1"))  # and again before the upload
    with pytest.raises(PermanentError, match=r"5\.0 MB"):
        target.run_step("file", job)
    assert emulator.state.count(method="POST") == 0


def test_unrenderable_document_creates_no_voucher(emulator, tmp_path):
    class Refusing(TinyRenderer):
        def render(self, document):
            raise InputError("template", "a credit note must name the invoice it corrects")

        def render_many(self, documents):
            raise InputError("template", "batch refused")

    target = make_target(emulator, tmp_path, renderer=Refusing())
    job = make_job(sample_document("nr"))
    target.prepare([job])  # the batch's own error is kept for this document's step
    with pytest.raises(PermanentError, match="no PDF for lexoffice, so no voucher was created: "
                                             "template: batch refused"):
        target.run_step("voucher", job)
    other = make_job(sample_document("nr2"))  # not in the batch: rendered alone
    with pytest.raises(PermanentError, match="template: a credit note must name"):
        target.run_step("voucher", other)
    assert emulator.state.count(method="POST") == 0


def test_prepare_renders_the_batch_at_once(emulator, tmp_path):
    class Counting(TinyRenderer):
        batches = 0

        def render_many(self, documents):
            Counting.batches += 1
            return [TinyRenderer.render(self, d) for d in documents]

    renderer = Counting()
    target = make_target(emulator, tmp_path, renderer=renderer)
    jobs = [make_job(sample_document(f"rm{i}")) for i in range(4)]
    target.prepare(jobs)
    for job in jobs:
        deliver(target, job)
    assert Counting.batches == 1 and renderer.calls == 4 and not target.files.rendered


def test_stored_pdf_and_einvoice_are_both_attached(emulator, target):
    pdf, xml = b"%PDF-1.7 stored invoice", b"<?xml version='1.0'?><Invoice/>"

    def stored(role, name, media, data):
        return StoredAttachment(name, media, role, hashlib.sha256(data).hexdigest(), len(data),
                                lambda: data)

    job = make_job(sample_document("x"), attachments=(
        stored(AttachmentRole.PDF, "RE-x.pdf", "application/pdf", pdf),
        stored(AttachmentRole.EINVOICE, "RE-x.xml", "application/xml", xml)))
    job = deliver(target, job)
    assert set(job.steps["file"].detail["files"]) == {"RE-x.pdf", "RE-x.xml"}
    assert sorted(d for _i, _v, d in emulator.state.files.values()) == sorted([pdf, xml])
    assert target.context.renderer.calls == 0


# never twice -----------------------------------------------------------------------------------
@pytest.mark.parametrize("landed", [False, True])
def test_a_failed_second_upload_sends_only_what_is_missing(emulator, target, landed):
    """The PDF went up, the XML's upload failed (before or after lexoffice took it)."""
    pdf, xml = b"%PDF-1.7 stored invoice two", b"<?xml version='1.0'?><Invoice n='2'/>"

    def stored(role, name, media, data):
        return StoredAttachment(name, media, role, hashlib.sha256(data).hexdigest(), len(data),
                                lambda: data)

    job = make_job(sample_document("xx"), attachments=(
        stored(AttachmentRole.PDF, "RE-xx.pdf", "application/pdf", pdf),
        stored(AttachmentRole.EINVOICE, "RE-xx.xml", "application/xml", xml)))
    emulator.state.inject("POST", r"/files$", 500, after_effect=landed, every=2)
    job = engine_like(target, job)
    [voucher] = vouchers(emulator, "RE-xx")
    assert sorted(emulator.state.files[hashlib.sha256(d).hexdigest()][0] for d in (pdf, xml)) \
        == sorted(voucher.files)  # both files, each once
    uploads = emulator.state.count(method="POST", prefix="/v1/vouchers/")
    assert uploads == (2 if landed else 3)  # the PDF was never sent again
    assert len(job.steps["file"].detail["files"]) == 2


def test_504_after_creation_is_looked_up_not_reposted(emulator, target):
    emulator.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True)
    job = make_job(sample_document("t1"))
    with pytest.raises(AmbiguousWrite, match="HTTP 504: Endpoint request timed out"):
        target.run_step("voucher", job)
    found = target.find_step("voucher", job)
    assert found is not None and found.ref == vouchers(emulator, "RE-t1")[0].id
    assert len(vouchers(emulator, "RE-t1")) == 1


def test_timeout_after_creation_is_looked_up_not_reposted(emulator, tmp_path):
    target = make_target(emulator, tmp_path, request_timeout=0.3)
    emulator.state.inject("POST", r"^/v1/vouchers$", 0, delay=0.8)
    job = make_job(sample_document("slow"))
    with pytest.raises(AmbiguousWrite, match="ReadTimeout"):
        target.run_step("voucher", job)
    job = engine_like(target, job)
    assert job.steps["voucher"].detail["found"] is True
    assert len(vouchers(emulator, "RE-slow")) == 1


@pytest.mark.parametrize("behaviour", ["exact", "ignored", "undecoded"])
def test_lookup_does_not_trust_the_number_filter(emulator, target, behaviour):
    """Whatever lexoffice does with `voucherNumber`, a voucher that landed is found."""
    emulator.state.number_filter = behaviour
    deliver(target, make_job(sample_document("o", number="RE-O&1")))  # another voucher that day
    emulator.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True)
    job = make_job(sample_document("amp", number="RE-A&B<1>"))
    with pytest.raises(AmbiguousWrite):
        target.run_step("voucher", job)
    lists = emulator.state.count(prefix="/v1/voucherlist")
    found = target.find_step("voucher", job)
    assert found is not None and found.ref == vouchers(emulator, "RE-A&B<1>")[0].id
    assert emulator.state.count(prefix="/v1/voucherlist") - lists == (
        2 if behaviour == "undecoded" else 1)  # the full day only when the filter found none
    absent = make_job(sample_document("none", number="RE-N&1"))
    assert target.find_step("voucher", absent) is None


def test_run_again_after_an_ambiguous_post_looks_up_first(emulator, target):
    emulator.state.inject("POST", r"^/v1/vouchers$", 500, after_effect=True)
    job = make_job(sample_document("t2"))
    with pytest.raises(AmbiguousWrite):
        target.run_step("voucher", job)
    result = target.run_step("voucher", job)  # even without find_step: no second voucher
    assert result.detail["found"] is True and len(vouchers(emulator, "RE-t2")) == 1


def test_failure_before_creation_posts_once_after_the_lookup(emulator, target):
    emulator.state.inject("POST", r"^/v1/vouchers$", 503, after_effect=False)
    job = engine_like(target, make_job(sample_document("t3")))
    assert len(vouchers(emulator, "RE-t3")) == 1
    assert job.steps["voucher"].detail.get("found") is None
    assert emulator.state.count(method="POST", prefix="/v1/vouchers") == 3  # 503, 201, file


def test_crash_after_the_voucher_repeats_only_the_file(emulator, target):
    job = make_job(sample_document("c1"))
    voucher = target.run_step("voucher", job)  # the process dies here; the engine committed it
    fresh = make_target(emulator, target.context.data_dir)
    job = deliver(fresh, make_job(job.document, steps={"voucher": voucher}))
    [v] = vouchers(emulator, "RE-c1")
    assert v.files == [job.steps["file"].ref]


def test_file_step_repeated_after_a_lost_answer_is_deduplicated(emulator, target):
    job = make_job(sample_document("c2"))
    job = job.with_step("voucher", target.run_step("voucher", job))
    emulator.state.inject("POST", r"/files$", 500, after_effect=True)
    with pytest.raises(TransientError):
        target.run_step("file", job)
    found = target.find_step("file", job)  # the voucher has its file: not sent again
    [v] = vouchers(emulator, "RE-c2")
    assert found is not None and v.files == [found.ref]
    result = target.run_step("file", job)  # and were it sent again: deduplicated
    assert v.files == [result.ref]


def test_found_voucher_with_a_file_gets_no_second_pdf(emulator, tmp_path):
    doc = sample_document("c4")
    deliver(make_target(emulator, tmp_path), make_job(doc))  # landed; never committed
    other = make_target(emulator, tmp_path, renderer=TinyRenderer(pad=10))  # other bytes
    job = make_job(doc)
    other.prepare([job])
    job = deliver(other, job)
    [v] = vouchers(emulator, "RE-c4")
    assert job.steps["file"].detail["found"] is True and len(v.files) == 1


def test_crash_before_the_voucher_was_committed_is_found_on_the_next_run(emulator, target):
    doc = sample_document("c3")
    target.run_step("voucher", make_job(doc))  # landed, but the engine never committed it
    fresh = make_target(emulator, target.context.data_dir)
    job = make_job(doc)
    fresh.prepare([job])
    job = deliver(fresh, job)
    assert job.steps["voucher"].detail["found"] is True and len(vouchers(emulator, "RE-c3")) == 1


def test_failed_prefetch_is_only_a_lost_optimisation(emulator, target):
    emulator.state.inject("GET", r"^/v1/voucherlist$", 400, after_effect=False)
    job = make_job(sample_document("pf"))
    target.prepare([job])
    assert not target._index.covered
    deliver(target, job)
    assert len(vouchers(emulator, "RE-pf")) == 1


def test_same_number_of_another_voucher_is_not_a_match(emulator, target):
    deliver(target, make_job(sample_document("n", number="RE-9", lines=[("1.00", "0.19")])))
    job = make_job(sample_document("m", number="RE-9", lines=[("2.00", "0.19")]))
    target.prepare([job])
    assert target.find_step("voucher", job) is None
    deliver(target, job)
    assert len(vouchers(emulator, "RE-9")) == 2


def test_injected_504s_after_creation_end_with_each_voucher_exactly_once(emulator, target):
    emulator.state.inject("POST", r"^/v1/vouchers$", 504, after_effect=True, times=5, every=2)
    docs = [sample_document(f"b{i}", issue=date(2026, 3, 1 + i % 5)) for i in range(12)]
    jobs = [make_job(d) for d in docs]
    target.prepare(jobs)
    for job in jobs:
        engine_like(target, job)
    assert all(len(vouchers(emulator, d.number)) == 1 for d in docs)
    assert all(len(v.files) == 1 for v in emulator.state.vouchers.values())
    before = emulator.state.count(method="POST")
    second = make_target(emulator, target.context.data_dir)
    again = [make_job(d) for d in docs]
    second.prepare(again)
    for job in again:
        second.run_step("voucher", job)
    assert emulator.state.count(method="POST") == before  # a second run sends nothing


# rate ------------------------------------------------------------------------------------------
def test_429_storm_is_retried_without_duplicates(tmp_path):
    with LexofficeEmulator(rate=10) as emu:
        emu.state.inject("POST", r"^/v1/vouchers$", 429, after_effect=False, times=3)
        target = make_target(emu, tmp_path, rate=100.0)  # ten times too fast
        for i in range(8):
            deliver(target, make_job(sample_document(f"s{i}")))
        assert emu.state.count(status=429) > 3
        assert all(len(emu.state.by_number(f"RE-s{i}")) == 1 for i in range(8))


def test_steady_state_at_the_allowed_rate_sees_no_429(tmp_path):
    with LexofficeEmulator(rate=20) as emu:
        target = make_target(emu, tmp_path)
        jobs = [make_job(sample_document(f"r{i}")) for i in range(15)]
        target.prepare(jobs)
        for job in jobs:
            deliver(target, job)
        assert emu.state.count(status=429) == 0
        # one list page for the batch, then two calls per voucher (plus profile, categories)
        assert emu.state.count() == 1 + 2 + 2 * len(jobs)


def test_steps_and_series(emulator, tmp_path):
    target = make_target(emulator, tmp_path, mark_paid=True)
    assert target.steps(sample_document("i")) == ("voucher", "file", "paid")
    assert target.steps(sample_document("c", kind="credit_note")) == ("voucher", "file")
    assert target.number_series(sample_document("i")).format == "RE-{year}-{seq:06d}"
    fresh = make_job(sample_document("i"))
    fresh = fresh.with_step("voucher", target.run_step("voucher", fresh))
    assert target.find_step("file", fresh) is None


def test_secret_stays_out_of_the_config_repr(emulator, tmp_path):
    target = make_target(emulator, tmp_path, api_key="very-secret-key")
    assert "very-secret-key" not in repr(target.config)
    assert target.config.limiter_key.startswith("lexoffice:")
    assert len(target.config.limiter_key) == len("lexoffice:") + 16


def test_documents_without_a_date_or_number_are_refused(target):
    with pytest.raises(PermanentError, match="voucherNumber is mandatory"):
        target.run_step("voucher", make_job(sample_document("q").model_copy(
            update={"number": None})))


def test_emulator_data_dir_is_unused(target):
    assert not any(Path(target.context.data_dir).iterdir())
