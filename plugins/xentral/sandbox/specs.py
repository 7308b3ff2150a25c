"""Request validation against Xentral's published OpenAPI files, with openapi-schema-validator.

The files live outside the project (../shared/specs/xentral, or $SYNCD_XENTRAL_SPECS). The
validator is python-openapi's `openapi-schema-validator` (built on jsonschema): OAS 3.1 for
the v3 file, OAS 3.0 for the v1 file, whose schemas use `nullable` (a plain JSON Schema draft
would refuse the nulls it allows) and `readOnly`/`writeOnly` (write rules for requests, read
rules for answers). Each schema is validated by reference into the whole document, so `$ref`s
resolve as in the spec. Query parameters are checked against the operation's declared ones;
the list `filter` parameter against its schema (keys, operators, value types) and the
operators its description allows per key (that table exists only as prose). Without the files
(or the library) the emulator checks the required fields it knows itself and says so.
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
Violations = list[tuple[str, str]]


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class SpecValidator:
    """`errors(method, template, body)` -> [(field path, message), ...]."""

    def __init__(self, folder: Path | None) -> None:
        self.specs: dict[str, dict[str, Any]] = {}
        self.reason = ""
        self._cache: dict[tuple[str, ...], Any] = {}
        import openapi_schema_validator  # loaded only when an emulator starts

        if folder is None or not folder.is_dir():
            self.reason = ("the Xentral OpenAPI files are not available "
                           f"({folder or 'no folder'})")
        else:
            for name, file in (("v3", V3_FILE), ("v1", V1_FILE)):
                if (folder / file).is_file():
                    self.specs[name] = json.loads((folder / file).read_text("utf-8"))
            if not self.specs:
                self.reason = f"no Xentral OpenAPI files in {folder}"
        self._oas = openapi_schema_validator
        if self.enabled:
            log.info("xentral sandbox validates requests against the OpenAPI files",
                     folder=str(folder), specs=sorted(self.specs))
        else:
            log.warning("xentral sandbox runs WITHOUT OpenAPI validation (own required-field "
                        "checks only)", reason=self.reason)

    @property
    def enabled(self) -> bool:
        return bool(self.specs)

    # the spec ----------------------------------------------------------------------------
    def _spec(self, template: str) -> tuple[str, dict[str, Any] | None]:
        name = "v1" if template.startswith(("/api/v1/", "/api/v2/")) else "v3"
        return name, self.specs.get(name)

    def operation(self, method: str, template: str) -> dict[str, Any] | None:
        _name, spec = self._spec(template)
        node = ((spec or {}).get("paths") or {}).get(template) or {}
        return node.get(method.lower())

    def scopes(self, method: str, template: str) -> list[str]:
        """The operation's `x-scopes` (what a token must grant), [] when undeclared."""
        return list((self.operation(method, template) or {}).get("x-scopes") or [])

    def _validator(self, template: str, where: tuple[str, ...], *, answer: bool) -> Any:
        """An OpenAPI schema validator for the schema at `paths/<template>/<where...>`."""
        key = ("schema", template, *where)
        if key in self._cache:
            return self._cache[key]
        name, spec = self._spec(template)
        node: Any = (spec or {}).get("paths", {}).get(template)
        for part in where:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = node.get(part) if isinstance(node, dict) else None
        validator = None
        if node is not None and spec is not None:
            validator = self._schema_validator(name, spec, "#/" + _pointer(
                "paths", template, *where), answer=answer)
        self._cache[key] = validator
        return validator

    def _schema_validator(self, name: str, spec: dict[str, Any], ref: str, *,
                          answer: bool) -> Any:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4, DRAFT202012

        oas = self._oas
        if name == "v3":
            cls, checker, draft = oas.OAS31Validator, oas.oas31_format_checker, DRAFT202012
        else:
            cls = oas.OAS30ReadValidator if answer else oas.OAS30WriteValidator
            checker, draft = oas.oas30_format_checker, DRAFT4
        uri = f"urn:xentral:{name}"
        key = ("registry", name)
        if key not in self._cache:
            resource = Resource.from_contents(spec, default_specification=draft)
            self._cache[key] = Registry().with_resource(uri, resource)
        return cls({"$ref": uri + ref}, registry=self._cache[key], format_checker=checker)

    @staticmethod
    def _collect(validator: Any, value: Any, prefix: str = "") -> Violations:
        out = []
        for error in validator.iter_errors(value):
            best = error
            if error.context:  # oneOf/anyOf: the deepest sub-error says what is wrong
                best = max(error.context, key=lambda e: len(e.absolute_path))
            path = ".".join(map(str, best.absolute_path))
            out.append((".".join(p for p in (prefix, path) if p) or "(body)", best.message))
        return out

    # bodies ------------------------------------------------------------------------------
    def errors(self, method: str, template: str, body: Any) -> Violations:
        """Every violation of the operation's request schema."""
        if not self.enabled:
            return self._own_checks(method, template, body)
        validator = self._validator(template, (method.lower(), "requestBody", "content",
                                               "application/json", "schema"), answer=False)
        return [] if validator is None else self._collect(validator, body)

    def response_errors(self, method: str, template: str, status: int, body: Any
                        ) -> Violations:
        """Violations of the operation's documented answer (the emulator's own honesty)."""
        if not self.enabled or body is None:
            return []
        validator = self._validator(template, (method.lower(), "responses", str(status),
                                               "content", "application/json", "schema"),
                                    answer=True)
        return [] if validator is None else self._collect(validator, body)

    # query -------------------------------------------------------------------------------
    def _parameters(self, method: str, template: str) -> dict[str, tuple[int, dict]]:
        """The operation's query parameters by name, with their index (for the pointer)."""
        params = (self.operation(method, template) or {}).get("parameters") or []
        return {p["name"]: (i, p) for i, p in enumerate(params)
                if isinstance(p, dict) and p.get("in") == "query"}

    def query_errors(self, method: str, template: str, filters: list[tuple[str, str, Any]],
                     params: dict[str, str]) -> Violations:
        """Undeclared parameters, values off their schema, and filters off theirs."""
        if not self.enabled or self.operation(method, template) is None:
            return []
        declared = self._parameters(method, template)
        out: Violations = []
        for name, text in params.items():
            if name not in declared:
                out.append((name, f"{name!r} is not a query parameter of "
                                  f"{method.upper()} {template}"))
                continue
            index, param = declared[name]
            schema = param.get("schema") or {}
            validator = self._validator(template, (method.lower(), "parameters", str(index),
                                                   "schema"), answer=False)
            if validator is not None:
                out += self._collect(validator, _coerce(text, schema), prefix=name)
        if filters:
            out += self._filter_errors(method, template, filters, declared)
        return out

    def _filter_errors(self, method: str, template: str, filters: list[tuple[str, str, Any]],
                       declared: dict[str, tuple[int, dict]]) -> Violations:
        if "filter" not in declared:
            return [("filter", f"{method.upper()} {template} takes no filter")]
        index, param = declared["filter"]
        validator = self._validator(template, (method.lower(), "parameters", str(index),
                                               "schema"), answer=False)
        entries = [{"key": k, "op": o, **({} if v is None else {"value": v})}
                   for k, o, v in filters]
        out = [] if validator is None else self._collect(validator, entries, prefix="filter")
        allowed = _operators(param.get("description", ""))
        for i, (key, op, _value) in enumerate(filters):
            if allowed.get(key) and op not in allowed[key]:
                out.append((f"filter.{i}.op", f"{op!r} is not an operator for {key!r} "
                            f"(allowed: {', '.join(sorted(allowed[key]))})"))
        return out

    def _own_checks(self, method: str, template: str, body: Any) -> Violations:
        required, per_item = REQUIRED.get((method, template), ((), ()))
        if not isinstance(body, dict):
            return [("(body)", "must be an object")]
        out = [(key, f"The {key} field is required.") for key in required if key not in body]
        for i, item in enumerate(body.get("lineItems") or []):
            out += [(f"lineItems.{i}.{key}", f"The lineItems.{i}.{key} field is required.")
                    for key in per_item if key not in item]
        return out


def _coerce(text: str, schema: dict[str, Any]) -> Any:
    """A query string value as its schema's type (arrays are comma-separated, as `include`)."""
    kind = schema.get("type")
    if kind == "array":
        return [_coerce(part, schema.get("items") or {}) for part in text.split(",")]
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            return text
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _operators(description: str) -> dict[str, set[str]]:
    """`key`: *op*, *op* ... lines of a filter parameter's description."""
    out: dict[str, set[str]] = {}
    for match in re.finditer(r"`([\w.]+)`: ((?:\*\w+\*(?:, )?)+)", description):
        out[match.group(1)] = set(re.findall(r"\*(\w+)\*", match.group(2)))
    return out
