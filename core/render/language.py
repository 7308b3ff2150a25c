"""Which language a document is rendered in, and the Babel locale that formats it.

Order of precedence: `Document.language` (the source knows best, e.g. the buyer asked for it),
then the pipeline's `RenderOptions.language`, then the billing country, then the marketplace
country, then English. Countries whose language syncd does not ship fall through to the next
candidate, so a Dutch buyer on amazon.de gets a German invoice.
"""

from __future__ import annotations

from syncd.errors import ConfigError
from syncd.model import Document

LANGUAGES: tuple[str, ...] = ("de", "en", "fr", "it", "es")
"""Languages the built-in templates and labels are translated into."""

FALLBACK = "en"

LOCALES: dict[str, str] = {
    "de": "de_DE",
    "en": "en_GB",
    "fr": "fr_FR",
    "it": "it_IT",
    "es": "es_ES",
}
"""Babel locale per language: European conventions (dd/mm/yyyy, 24 h) also for English."""

COUNTRY_LANGUAGE: dict[str, str] = {
    "DE": "de", "AT": "de", "CH": "de", "LI": "de",
    "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr",
    "IT": "it", "SM": "it", "VA": "it",
    "ES": "es", "AD": "es",
    "GB": "en", "IE": "en", "MT": "en", "US": "en", "CA": "en", "AU": "en",
}


def _checked(language: str, where: str) -> str:
    code = language.strip().lower().replace("-", "_").split("_")[0]
    if code not in LANGUAGES:
        raise ConfigError(
            [f"{where}: language {language!r} is not available "
             f"(choose one of {', '.join(LANGUAGES)})"]
        )
    return code


def choose_language(document: Document, override: str | None = None) -> str:
    """The language `document` is rendered in; `override` is the pipeline's choice."""
    if document.language:
        return _checked(document.language, f"document {document.identity}: language")
    if override:
        return _checked(override, "render language")
    countries = []
    if document.billing_address is not None:
        countries.append(document.billing_address.country)
    if document.marketplace is not None and document.marketplace.country:
        countries.append(document.marketplace.country)
    for country in countries:
        language = COUNTRY_LANGUAGE.get(country.upper())
        if language:
            return language
    return FALLBACK
