"""Checks of `POST /v1/vouchers` bodies: the shared JSON Schema, then lexoffice's own rules.

The schema (`../shared/specs/lexoffice/voucher-create.schema.json`) is validated with
jsonschema when both are available; otherwise the emulator says so once and checks the
required fields itself. Findings come back as the legacy IssueList lexoffice uses here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from syncd.log import get_logger
from syncd_lexoffice.categories import OSS_CATEGORIES
from syncd_lexoffice.mapping import BOOKKEEPING_RATES

log = get_logger("syncd_lexoffice.sandbox")
REQUIRED = ("type", "voucherDate", "totalGrossAmount", "totalTaxAmount", "taxType",
            "voucherItems")
ITEM_REQUIRED = ("amount", "taxAmount", "taxRatePercent", "categoryId")


def issue(source: str | None, key: str, kind: str = "validation_failure") -> dict[str, Any]:
    return {"i18nKey": key, "source": source, "type": kind, "additionalData": None, "args": None}


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class VoucherValidator:
    def __init__(self, specs_dir: Path | None) -> None:
        self.schema_source = "own required-field checks"
        self.validator: Any = None
        path = specs_dir / "voucher-create.schema.json" if specs_dir else None
        import jsonschema  # loaded only when an emulator starts

        if path is None or not path.is_file():
            why = "voucher-create.schema.json not found"
            log.warning("lexoffice emulator: no JSON Schema validation", reason=why)
            self.schema_source += f" ({why})"
            return
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        self.validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        self.schema_source = str(path)

    def schema_issues(self, body: Any) -> list[dict[str, Any]]:
        if self.validator is not None:
            found = []
            for error in sorted(self.validator.iter_errors(body), key=lambda e: list(e.path)):
                where = _path(error.absolute_path)
                if error.validator == "required":
                    missing = [p for p in error.validator_value if p not in error.instance]
                    for name in missing:
                        found.append(issue(f"{where}.{name}" if where else name,
                                           "missing_entity"))
                else:
                    found.append(issue(where or None, "invalid_value"))
            return found
        if not isinstance(body, dict):
            return [issue(None, "bad_request_error", "bad_request_error")]
        found = [issue(name, "missing_entity") for name in REQUIRED if name not in body]
        for i, item in enumerate(body.get("voucherItems") or []):
            found += [issue(f"voucherItems[{i}].{n}", "missing_entity")
                      for n in ITEM_REQUIRED if not isinstance(item, dict) or n not in item]
        return found

    def rule_issues(self, body: dict[str, Any], category_of: Any,
                    contact_exists: Any) -> list[dict[str, Any]]:
        """The rules a JSON Schema cannot express (x-rules of the schema and NOTES 1.4)."""
        found: list[dict[str, Any]] = []
        items = body.get("voucherItems") or []
        if body.get("voucherStatus") != "unchecked" and not body.get("voucherNumber"):
            found.append(issue("voucherNumber", "missing_entity"))
        if body.get("contactId") and body.get("contactName"):
            found.append(issue("contactName",
                               "custom_contact_name_for_referenced_contact_not_allowed"))
        if body.get("contactId") and not contact_exists(body["contactId"]):
            found.append(issue("contactId", "missing_entity"))
        rates = set()
        for i, item in enumerate(items):
            cat = category_of(item.get("categoryId"))
            if cat is None:
                found.append(issue(f"voucherItems[{i}].categoryId", "invalid_value"))
                continue
            rate = Decimal(str(item.get("taxRatePercent")))
            rates.add(rate)
            if rate not in BOOKKEEPING_RATES and cat["name"] not in OSS_CATEGORIES:
                found.append(issue(f"voucherItems[{i}].taxRatePercent", "invalid_value"))
            if cat["contactRequired"] and not body.get("contactId"):
                found.append(issue("contactId", "missing_entity"))
            if not cat["splitAllowed"] and len(items) > 1:
                found.append(issue(f"voucherItems[{i}].categoryId", "split_not_allowed"))
        gross = sum((Decimal(str(i.get("amount"))) for i in items), Decimal(0))
        tax = sum((Decimal(str(i.get("taxAmount"))) for i in items), Decimal(0))
        if body.get("taxType") == "net":
            gross += tax
        if gross != Decimal(str(body.get("totalGrossAmount"))):
            found.append(issue("totalGrossAmount", "invalid_value"))
        if tax != Decimal(str(body.get("totalTaxAmount"))):
            found.append(issue("totalTaxAmount", "invalid_value"))
        for name in ("totalGrossAmount", "totalTaxAmount"):
            value = Decimal(str(body.get(name)))
            if value != value.quantize(Decimal("0.01")):
                found.append(issue(name, "invalid_value"))
        return list({(f["source"], f["i18nKey"]): f for f in found}.values())
