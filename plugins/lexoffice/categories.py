"""Posting categories (Buchungskategorien): chosen by name, resolved to the account's ids.

Ids come from `GET /v1/posting-categories` at start (one id changed on 2026-04-28, so none is
hard-wired here); when that call fails, the file `categories_file` names (the format of the
shared spec's `posting-categories-sales.json`, or the endpoint's bare array) stands in.
The choice follows the document's legal notes and countries: small business →
Kleinunternehmer; intra-EU B2B → innergemeinschaftliche Lieferung; reverse charge → §13b;
export → Ausfuhrlieferungen; EU B2C to another member state → Fernverkauf (origin principle)
or "Fernverkauf in EU-Land steuerpflichtig" (OSS destination principle); everything else →
Warenverkäufe. A pipeline option can name a category instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncd.errors import ConfigError, PermanentError
from syncd.model import Document

GOODS = "Warenverkäufe"
SMALL_BUSINESS = "Einnahmen als Kleinunternehmer"
INTRA_EU = "Innergemeinschaftliche Lieferung"
REVERSE_CHARGE = "Fremdleistungen §13b"
EXPORT = "Ausfuhrlieferungen an Drittländer"
DISTANCE_ORIGIN = "Fernverkauf"
DISTANCE_DESTINATION = "Fernverkauf in EU-Land steuerpflichtig"
OSS_CATEGORIES = frozenset({DISTANCE_DESTINATION,
                            "Elektronische Dienstleistung in EU-Land steuerpflichtig"})

CONTACT_REQUIRED = frozenset({INTRA_EU, REVERSE_CHARGE, EXPORT})
"""Categories lexoffice books only against a referenced contact (NOTES 1.4), for a fallback
file whose rows do not say."""

EU = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR",
                "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI",
                "SK"})


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    contact_required: bool
    split_allowed: bool


class Categories:
    """The account's income categories by name and by id."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.by_name: dict[str, Category] = {}
        self.by_id: dict[str, Category] = {}
        for row in rows:
            if row.get("type", "income") != "income" or not row.get("id") or not row.get("name"):
                continue
            cat = Category(id=str(row["id"]), name=str(row["name"]),
                           contact_required=bool(row.get("contactRequired", False)),
                           split_allowed=bool(row.get("splitAllowed", True)))
            self.by_name.setdefault(cat.name.casefold(), cat)
            self.by_id[cat.id] = cat
        if GOODS.casefold() not in self.by_name:
            raise ConfigError([f"lexoffice: GET /v1/posting-categories lists no income category "
                               f"{GOODS!r}; is this a bookkeeping-enabled account?"])

    def get(self, name_or_id: str, *, document: str) -> Category:
        cat = self.by_id.get(name_or_id) or self.by_name.get(name_or_id.casefold())
        if cat is None:
            raise PermanentError(f"document {document}: lexoffice has no income posting "
                                 f"category {name_or_id!r}", code="category")
        return cat


def load_file(path: Path) -> list[dict[str, Any]]:
    """The rows of a fallback category file; ConfigError naming the file and the row."""
    where = f"lexoffice categories_file {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read it ({exc.strerror or exc})"]) from None
    except ValueError as exc:
        raise ConfigError([f"{where}: not JSON ({exc})"]) from None
    rows = data.get("categories") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ConfigError([f"{where}: expected a JSON array or an object with 'categories'"])
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row.get("id") or not row.get("name"):
            raise ConfigError([f"{where}: categories[{i}]: needs 'id' and 'name'"])
        name = str(row["name"])
        out.append({"id": str(row["id"]), "name": name, "type": row.get("type", "income"),
                    "contactRequired": row.get("contactRequired", name in CONTACT_REQUIRED),
                    "splitAllowed": row.get("splitAllowed", True)})
    return out


def country_of(document: Document) -> str | None:
    address = document.shipping_address or document.billing_address
    return address.country.upper() if address else None


def choose(document: Document, *, seller_country: str, small_business: bool,
           destination_principle: bool) -> str:
    """The category name for `document` (see the module docstring for the rules)."""
    legal = document.legal
    if small_business:
        return SMALL_BUSINESS
    if legal.intra_eu:
        return INTRA_EU
    if legal.reverse_charge:
        return REVERSE_CHARGE
    country = country_of(document)
    if legal.export or (country is not None and country not in EU and country != seller_country
                        and all(row.rate == 0 for row in document.vat_breakdown)):
        return EXPORT
    if country and country != seller_country and country in EU and seller_country in EU:
        return DISTANCE_DESTINATION if destination_principle else DISTANCE_ORIGIN
    return GOODS
