from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from syncd.errors import DocumentValidationError
from syncd.model import (
    Attachment,
    Document,
    DocumentKind,
    Line,
    LineKind,
    Totals,
    VatBreakdown,
    build_document,
)


def line(net, rate, vat, gross, **kw):
    return Line(description=kw.pop("description", "Widget"), net=Decimal(net),
                vat_rate=Decimal(rate), vat=Decimal(vat), gross=Decimal(gross), **kw)


def doc(**kw):
    fields = dict(kind="invoice", source="test", source_key="k1", currency="EUR")
    fields.update(kw)
    lines = fields.pop("lines", [line("10.00", "0.19", "1.90", "11.90")])
    return build_document(lines=lines, **fields)


def test_multi_rate_breakdown_and_totals():
    d = doc(lines=[
        line("10.00", "0.19", "1.90", "11.90"),
        line("5.00", "0.07", "0.35", "5.35", description="Book"),
        line("-1.00", "0.19", "-0.19", "-1.19", kind=LineKind.PROMOTION,
             promotion_for=LineKind.ITEM, description="Promo"),
        line("4.20", "0.19", "0.80", "5.00", kind=LineKind.SHIPPING, description="Shipping"),
    ])
    assert [b.rate for b in d.vat_breakdown] == [Decimal("0.19"), Decimal("0.07")]
    assert d.vat_breakdown[0].net == Decimal("13.20")
    assert d.vat_breakdown[0].vat == Decimal("2.51")
    assert d.totals == Totals(net=Decimal("18.20"), vat=Decimal("2.86"), gross=Decimal("21.06"))


def test_json_round_trip_keeps_decimals_and_bytes():
    d = doc(attachments=[Attachment(filename="a.pdf", media_type="application/pdf",
                                    data=b"%PDF-1.7\x00\xff")],
            issue_date=date(2026, 11, 1), extra={"unknown-column": "kept"})
    again = Document.model_validate_json(d.model_dump_json())
    assert again == d
    assert again.totals.gross == Decimal("11.90")
    assert again.attachments[0].data == b"%PDF-1.7\x00\xff"
    assert again.content_hash == d.content_hash


def test_content_hash_ignores_number_but_not_content():
    d = doc()
    assert d.with_number("INV-1").content_hash == d.content_hash
    assert doc(source_key="k2").content_hash != d.content_hash


def test_immutable():
    d = doc()
    with pytest.raises(ValidationError):
        d.currency = "USD"


def test_float_money_refused():
    with pytest.raises(ValidationError, match="never a float"):
        Line(description="x", net=10.0, vat_rate=Decimal("0.19"), vat=Decimal("1.9"),
             gross=Decimal("11.9"))


def test_sub_cent_amount_refused():
    with pytest.raises(ValidationError, match="more than two decimal places"):
        line("10.001", "0.19", "1.90", "11.901")


def test_line_gross_mismatch_names_document_and_field():
    with pytest.raises(DocumentValidationError) as err:
        doc(source_key="A-1", lines=[line("10.00", "0.19", "1.90", "11.91")])
    assert err.value.document == "test:A-1"
    assert err.value.field == "lines[0].gross"


def test_breakdown_mismatch_detected_to_the_cent():
    good = doc()
    with pytest.raises(DocumentValidationError, match=r"vat_breakdown\[rate=0.19\].vat"):
        Document(**{**good.model_dump(), "vat_breakdown": [
            VatBreakdown(rate=Decimal("0.19"), net=Decimal("10.00"), vat=Decimal("1.89"),
                         gross=Decimal("11.89"))]})


def test_totals_mismatch_detected():
    good = doc()
    data = good.model_dump()
    data["totals"] = Totals(net=Decimal("10.00"), vat=Decimal("1.90"), gross=Decimal("11.91"))
    with pytest.raises(DocumentValidationError, match=r"totals\.gross"):
        Document(**data)


def test_rate_must_be_a_fraction():
    with pytest.raises(ValidationError, match="fraction"):
        line("10.00", "19", "1.90", "11.90")


def test_credit_note_kind_and_reference():
    d = doc(kind="credit_note", original_invoice_number="INV-2026-000001",
            original_invoice_date=date(2026, 1, 2))
    assert d.kind is DocumentKind.CREDIT_NOTE
    assert d.totals.gross > 0


def test_empty_document_refused():
    with pytest.raises(DocumentValidationError, match="at least one line"):
        doc(lines=[])


def test_content_hash_is_the_sorted_json_dump_byte_for_byte():
    """Stored documents' hashes depend on the canonical form: a faster writer must not
    change it (else every known document would look revised after an upgrade)."""
    import hashlib
    import json

    from syncd.model import Buyer, Link, LinkKind
    from syncd.testing.plugin import synthetic_document

    tricky = "x\u2028\x01\x1f\"\\\n\t\u00e9\U0001f600\x7f </script>"
    made = doc().model_copy(update={
        "buyer": Buyer(name=tricky, company="Zürich GmbH"),
        "extra": {"zeta": tricky, "alpha": "1", "Mid": "ü"},
        "links": (Link(kind=LinkKind.ORDER, source_key=tricky),),
    })
    made = type(made).model_validate_json(made.model_dump_json())
    expected = json.dumps(made.model_dump(mode="json", exclude={"number"}), sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False)
    assert made.canonical_json() == expected
    assert made.content_hash == hashlib.sha256(expected.encode()).hexdigest()
    # pinned: the hash of a fixed document never changes between versions
    assert synthetic_document(5).content_hash == (
        "5c5bfc4cf37be35dcf3f648d0b4c0fe52779d578ff3f78d30dd8bfa8072fb89c")


def test_a_stored_body_is_validated_again_but_its_amounts_only_once(monkeypatch):
    """`Document.from_stored` (the claim's path) re-checks the schema, which may have changed
    since the body was written; the amounts were checked before it was stored."""
    import json

    import syncd.model as model

    body = doc().model_dump_json()
    calls: list[str] = []
    monkeypatch.setattr(model, "check_amounts", lambda d: calls.append(d.source_key))
    assert Document.from_stored(body) == Document.model_validate_json(body)
    assert calls == ["k1"]  # model_validate_json checked, from_stored did not
    stale = json.loads(body)
    stale["gone_field"] = 1
    with pytest.raises(ValidationError):
        Document.from_stored(json.dumps(stale))
