"""Request validation against Xentral's published OpenAPI files, with jsonschema.

The files live outside the project (../shared/specs/xentral, or $SYNCD_XENTRAL_SPECS). Each
operation's request schema is validated by reference into the whole document (so `$ref`s
resolve as in the spec): JSON Schema 2020-12 for the v3 file (OpenAPI 3.1), Draft 7 for the
v1 file (OpenAPI 3.0, whose schemas here use no `nullable`). Without the files the emulator
checks the required fields it knows itself and says so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from syncd.log import get_logger

log = get_logger("syncd_xentral.sandbox.specs")

V3_FILE = "xentral-business-documents-api-v3_26.34.2.openapi-3.1.0.json"
V1_FILE = "xentral-api-v1-v2_24.48.10.openapi-3.0.0.json"

# fallback when the specs are absent: (required top-level keys, required keys per line item)
REQUIRED: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("post", "/api/v3/invoices"): (("address",), ("product", "quantity")),
    ("post", "/api/v3/creditNotes"): (("address",), ("product", "quantity")),
    ("post", "/api/v3/salesOrders"): (("address",), ("product", "quantity")),
    ("post", "/api/v3/products"): (("name", "project"), ()),
    ("post", "/api/v3/customers"): (("primaryAddress",), ()),
    ("post", "/api/v3/invoices/{id}/files"): (("keyword", "fileName", "fileContent"), ()),
    ("post", "/api/v3/creditNotes/{id}/files"): (("keyword", "fileName", "fileContent"), ()),
    ("post", "/api/v3/salesOrders/{id}/files"): (("keyword", "fileName", "fileContent"), ()),
    ("patch", "/api/v1/invoices/{id}/status"): ((), ()),
}


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class SpecValidator:
    """`errors(method, template, body)` -> ["field.path: message", ...]."""

    def __init__(self, folder: Path | None) -> None:
        self.specs: dict[str, dict[str, Any]] = {}
        self.reason = ""
        self._validators: dict[tuple[str, str], Any] = {}
        try:
            import jsonschema
            import referencing
        except ImportError:
            self.reason = "jsonschema is not installed"
            jsonschema = referencing = None  # type: ignore[assignment]
        if jsonschema is not None:
            if folder is None or not folder.is_dir():
                self.reason = ("the Xentral OpenAPI files are not available "
                               f"({folder or 'no folder'})")
            else:
                for name, file in (("v3", V3_FILE), ("v1", V1_FILE)):
                    if (folder / file).is_file():
                        self.specs[name] = json.loads((folder / file).read_text("utf-8"))
                if not self.specs:
                    self.reason = f"no Xentral OpenAPI files in {folder}"
        self._jsonschema, self._referencing = jsonschema, referencing
        if self.enabled:
            log.info("xentral sandbox validates requests against the OpenAPI files",
                     folder=str(folder), specs=sorted(self.specs))
        else:
            log.warning("xentral sandbox runs WITHOUT OpenAPI validation (own required-field "
                        "checks only)", reason=self.reason)

    @property
    def enabled(self) -> bool:
        return bool(self.specs)

    def _validator(self, method: str, template: str) -> Any:
        key = (method, template)
        if key not in self._validators:
            self._validators[key] = self._schema_validator(
                template, (method, "requestBody", "content", "application/json", "schema"))
        return self._validators[key]

    def _schema_validator(self, template: str, where: tuple[str, ...]) -> Any:
        spec_name = "v1" if template.startswith("/api/v1/") else "v3"
        spec = self.specs.get(spec_name)
        if spec is None or template not in spec["paths"]:
            return None
        node: Any = spec["paths"][template]
        for part in where:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None
        from referencing.jsonschema import DRAFT7, DRAFT202012

        draft = DRAFT202012 if spec_name == "v3" else DRAFT7
        uri = f"urn:xentral:{spec_name}"
        resource = self._referencing.Resource.from_contents(spec, default_specification=draft)
        registry = self._referencing.Registry().with_resource(uri, resource)
        cls = (self._jsonschema.Draft202012Validator if spec_name == "v3"
               else self._jsonschema.Draft7Validator)
        ref = "#/" + _pointer("paths", template, *where)
        return cls({"$ref": uri + ref}, registry=registry, format_checker=cls.FORMAT_CHECKER)

    @staticmethod
    def _collect(validator: Any, body: Any) -> list[tuple[str, str]]:
        out = []
        for error in validator.iter_errors(body):
            best = error
            if error.context:  # oneOf/anyOf: the deepest sub-error says what is wrong
                best = max(error.context, key=lambda e: len(e.absolute_path))
            out.append((".".join(map(str, best.absolute_path)) or "(body)", best.message))
        return out

    def errors(self, method: str, template: str, body: Any) -> list[tuple[str, str]]:
        """(field path, message) for every violation of the operation's request schema."""
        if not self.enabled:
            return self._own_checks(method, template, body)
        validator = self._validator(method, template)
        return [] if validator is None else self._collect(validator, body)

    def response_errors(self, method: str, template: str, status: int, body: Any
                        ) -> list[tuple[str, str]]:
        """Violations of the operation's documented answer (the emulator's own honesty)."""
        key = ("response", method, template, str(status))
        if key not in self._validators:
            self._validators[key] = self._schema_validator(
                template, (method, "responses", str(status), "content", "application/json",
                           "schema"))
        validator = self._validators[key]
        return [] if validator is None or body is None else self._collect(validator, body)

    def filter_errors(self, template: str, filters: list[tuple[str, str, Any]]
                      ) -> list[tuple[str, str]]:
        """Filter keys and operators the list operation documents (its `filter` parameter:
        the key enum, and per key the operators its description names)."""
        allowed = self._filters(template)
        if allowed is None:
            return []
        out = []
        for i, (key, op, _value) in enumerate(filters):
            if key not in allowed:
                out.append((f"filter.{i}.key", f"{key!r} is not a filter of {template}"))
            elif allowed[key] and op not in allowed[key]:
                out.append((f"filter.{i}.op", f"{op!r} is not an operator for {key!r} "
                            f"(allowed: {', '.join(sorted(allowed[key]))})"))
        return out

    def _filters(self, template: str) -> dict[str, set[str]] | None:
        key = ("filters", template)
        if key not in self._validators:
            spec = self.specs.get("v3")
            params = ((spec or {}).get("paths", {}).get(template, {}).get("get") or {}
                      ).get("parameters") or []
            found = next((p for p in params if p.get("name") == "filter"), None)
            table: dict[str, set[str]] | None = None
            if found is not None:
                keys = found["schema"]["items"]["properties"]["key"].get("enum") or []
                text = found.get("description", "")
                table = {}
                for name in keys:
                    match = re.search(rf"`{re.escape(name)}`: ((?:\*\w+\*(?:, )?)+)", text)
                    table[name] = set(re.findall(r"\*(\w+)\*", match.group(1))) if match \
                        else set()
            self._validators[key] = table
        return self._validators[key]

    def _own_checks(self, method: str, template: str, body: Any) -> list[tuple[str, str]]:
        required, per_item = REQUIRED.get((method, template), ((), ()))
        if not isinstance(body, dict):
            return [("(body)", "must be an object")]
        out = [(key, f"The {key} field is required.") for key in required if key not in body]
        for i, item in enumerate(body.get("lineItems") or []):
            out += [(f"lineItems.{i}.{key}", f"The lineItems.{i}.{key} field is required.")
                    for key in per_item if key not in item]
        return out
