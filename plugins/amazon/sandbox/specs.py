"""Validation of emulator traffic: Amazon's official Swagger models when present, else our own.

The models live outside the project (../shared/specs/amazon, or $SYNCD_AMAZON_SPECS). Without
them the emulator still checks every required field of the bodies it
receives and sends, with their types and list sizes (`OWN_CHECKS`, written from the SP-API
documentation), and says which of the two ran (`checks`, `summary()`, `GET /_records`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from syncd.log import get_logger

log = get_logger("syncd_amazon.sandbox.specs")

FILES = {"reports": "reports_2021-06-30.json", "feeds": "feeds_2021-06-30.json"}

# operation -> (model, request body definition, {status: response definition})
OPERATIONS: dict[str, tuple[str, str | None, dict[int, str]]] = {
    "createReport": ("reports", "CreateReportSpecification", {202: "CreateReportResponse"}),
    "getReport": ("reports", None, {200: "Report"}),
    "getReportDocument": ("reports", None, {200: "ReportDocument"}),
    "createFeedDocument": ("feeds", "CreateFeedDocumentSpecification",
                           {201: "CreateFeedDocumentResponse"}),
    "createFeed": ("feeds", "CreateFeedSpecification", {202: "CreateFeedResponse"}),
    "getFeed": ("feeds", None, {200: "Feed"}),
    "getFeedDocument": ("feeds", None, {200: "FeedDocument"}),
}
ERROR_DEFINITION = "ErrorList"

# definition -> {field: (type, required, min items, max items)}
OWN_CHECKS: dict[str, dict[str, tuple[type, bool, int | None, int | None]]] = {
    "CreateReportSpecification": {
        "reportType": (str, True, None, None), "marketplaceIds": (list, True, 1, 25),
        "reportOptions": (dict, False, None, None), "dataStartTime": (str, False, None, None),
        "dataEndTime": (str, False, None, None)},
    "CreateReportResponse": {"reportId": (str, True, None, None)},
    "Report": {"reportId": (str, True, None, None), "reportType": (str, True, None, None),
               "createdTime": (str, True, None, None),
               "processingStatus": (str, True, None, None),
               "reportDocumentId": (str, False, None, None)},
    "ReportDocument": {"reportDocumentId": (str, True, None, None), "url": (str, True, None, None)},
    "CreateFeedDocumentSpecification": {"contentType": (str, True, None, None)},
    "CreateFeedDocumentResponse": {"feedDocumentId": (str, True, None, None),
                                   "url": (str, True, None, None)},
    "CreateFeedSpecification": {
        "feedType": (str, True, None, None), "marketplaceIds": (list, True, 1, 25),
        "inputFeedDocumentId": (str, True, None, None), "feedOptions": (dict, False, None, None)},
    "CreateFeedResponse": {"feedId": (str, True, None, None)},
    "Feed": {"feedId": (str, True, None, None), "feedType": (str, True, None, None),
             "createdTime": (str, True, None, None), "processingStatus": (str, True, None, None),
             "resultFeedDocumentId": (str, False, None, None)},
    "FeedDocument": {"feedDocumentId": (str, True, None, None), "url": (str, True, None, None)},
    "ErrorList": {"errors": (list, True, None, None)},
}


def own_check(definition: str, body: Any) -> list[str]:
    """Required fields, their JSON types and list sizes, without the official models."""
    fields = OWN_CHECKS.get(definition)
    if fields is None:
        return []
    if not isinstance(body, dict):
        return [f"(body): {type(body).__name__} is not an object"]
    found: list[str] = []
    for name, (kind, required, low, high) in fields.items():
        if name not in body:
            if required:
                found.append(f"(body): {name!r} is a required property")
            continue
        value = body[name]
        if not isinstance(value, kind):
            found.append(f"{name}: {value!r} is not of type {kind.__name__}")
        elif isinstance(value, list) and (
                (low is not None and len(value) < low) or (high is not None and len(value) > high)):
            found.append(f"{name}: {len(value)} item(s), expected {low}..{high}")
    return found


class SpecValidator:
    """Validates request and response bodies by operation; a no-op when models are missing."""

    def __init__(self, folder: Path | None) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.reason = ""
        self.checked = 0
        if folder is None or not folder.is_dir():
            self.reason = f"the Amazon models are not available ({folder or 'no folder'})"
        else:
            for name, file in FILES.items():
                path = folder / file
                if path.is_file():
                    self.models[name] = json.loads(path.read_text(encoding="utf-8"))
            if not self.models:
                self.reason = f"no Amazon model files in {folder}"
        if self.enabled:
            log.info("sandbox validates traffic against the official models",
                     folder=str(folder), models=sorted(self.models))
        else:
            log.warning("sandbox runs without the official models; its own required-field "
                        "checks still run", reason=self.reason)

    @property
    def enabled(self) -> bool:
        return bool(self.models)

    @property
    def checks(self) -> str:
        """Which checks run, in words (for the demo, `/_records` and the log)."""
        if self.enabled:
            return "the official SP-API models (" + ", ".join(
                FILES[m] for m in sorted(self.models)) + ") via jsonschema"
        return f"the emulator's own checks of every required field ({self.reason})"

    def summary(self, violations: int) -> str:
        return (f"{self.checked} request/response bodies checked against {self.checks}: "
                f"{violations} finding(s)")

    def _errors(self, model: str, definition: str, body: Any) -> list[str]:
        self.checked += 1
        spec = self.models.get(model)
        if spec is None:
            return own_check(definition, body)
        import jsonschema  # loaded only when the models are there

        schema = {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}
        validator = jsonschema.Draft4Validator(schema)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
                for e in validator.iter_errors(body)]

    def request(self, operation: str, body: Any) -> list[str]:
        model, definition, _ = OPERATIONS[operation]
        return self._errors(model, definition, body) if definition else []

    def response(self, operation: str, status: int, body: Any) -> list[str]:
        model, _, responses = OPERATIONS[operation]
        definition = responses.get(status) or (ERROR_DEFINITION if status >= 400 else None)
        return self._errors(model, definition, body) if definition else []
