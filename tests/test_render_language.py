"""Language choice: document forces, pipeline overrides, then billing and marketplace country."""

from __future__ import annotations

from decimal import Decimal

import pytest

from syncd.errors import ConfigError
from syncd.model import Address, Marketplace
from syncd.render.language import LANGUAGES, choose_language
from syncd.render.samples import sample_invoice
from syncd.render.translations import LABELS


def _doc(billing: str | None, marketplace: str | None, language: str | None = None):
    doc = sample_invoice("de")
    return doc.model_copy(update={
        "billing_address": Address(name="X", country=billing) if billing else None,
        "marketplace": Marketplace(id="M", country=marketplace) if marketplace else None,
        "language": language,
    })


@pytest.mark.parametrize(("billing", "marketplace", "expected"), [
    ("DE", "FR", "de"),   # billing country first
    ("AT", None, "de"),
    ("BE", "DE", "fr"),
    ("IT", "DE", "it"),
    ("ES", None, "es"),
    ("GB", "DE", "en"),
    ("NL", "DE", "de"),   # no Dutch templates: the marketplace decides
    ("NL", "PL", "en"),   # neither shipped: English
    (None, "FR", "fr"),
    (None, None, "en"),
])
def test_language_from_countries(billing, marketplace, expected):
    assert choose_language(_doc(billing, marketplace)) == expected


def test_pipeline_override_and_document_force():
    assert choose_language(_doc("DE", "DE"), "es") == "es"
    assert choose_language(_doc("DE", "DE", language="it"), "es") == "it"
    assert choose_language(_doc("DE", "DE", language="fr-FR")) == "fr"


def test_unsupported_language_names_the_choices():
    with pytest.raises(ConfigError, match="de, en, fr, it, es"):
        choose_language(_doc("DE", "DE"), "pl")
    with pytest.raises(ConfigError, match="document amazon:sample-de"):
        choose_language(_doc("DE", "DE", language="pl"))


def test_every_language_has_every_label():
    keys = set(LABELS["de"])
    for language in LANGUAGES:
        assert set(LABELS[language]) == keys, language


def test_cached_formatting_prints_what_babel_prints():
    """Formatted amounts are cached per process, keyed by their digits (equal Decimals may be
    written differently): each must print exactly as Babel prints it, in any order."""
    from babel.numbers import format_currency

    from syncd.render.view import Formatter

    fmt = Formatter("de", "EUR")
    for amount in ("5.8350", "5.835", "5.8350", "-0.50", "-0.5"):
        expected = format_currency(Decimal(amount), "EUR", locale="de_DE",
                                   decimal_quantization=False)
        assert fmt.money(Decimal(amount)) == expected
    assert Formatter("en", "PLN").money(Decimal("100.00")) == "PLN\u00a0100.00"
    assert fmt.rate(Decimal("0.055")) == "5,5\u00a0%" and fmt.quantity(Decimal("2.000")) == "2"
