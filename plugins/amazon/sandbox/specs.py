"""Validation of emulator traffic against Amazon's official Swagger models, when present.

The models live outside the project (../shared/specs/amazon, or $SYNCD_AMAZON_SPECS); without
them the emulator still runs and says so in its log.
"""

from __future__ import annotations

import json
import os
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


def default_specs_dir() -> Path | None:
    env = os.environ.get("SYNCD_AMAZON_SPECS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    candidate = repo.parent / "shared" / "specs" / "amazon"
    return candidate if candidate.is_dir() else None


class SpecValidator:
    """Validates request and response bodies by operation; a no-op when models are missing."""

    def __init__(self, folder: Path | None) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.reason = ""
        try:
            import jsonschema  # test extra; optional at runtime
        except ImportError:
            jsonschema = None
        if jsonschema is None:
            self.reason = "jsonschema is not installed"
        elif folder is None or not folder.is_dir():
            self.reason = f"the Amazon models are not available ({folder or 'no folder'})"
        else:
            for name, file in FILES.items():
                path = folder / file
                if path.is_file():
                    self.models[name] = json.loads(path.read_text(encoding="utf-8"))
            if not self.models:
                self.reason = f"no Amazon model files in {folder}"
        self._jsonschema = jsonschema
        if self.enabled:
            log.info("sandbox validates traffic against the official models",
                     folder=str(folder), models=sorted(self.models))
        else:
            log.warning("sandbox runs WITHOUT model validation", reason=self.reason)

    @property
    def enabled(self) -> bool:
        return bool(self.models) and self._jsonschema is not None

    def _errors(self, model: str, definition: str, body: Any) -> list[str]:
        spec = self.models.get(model)
        if spec is None or self._jsonschema is None:
            return []
        schema = {"$ref": f"#/definitions/{definition}", "definitions": spec["definitions"]}
        validator = self._jsonschema.Draft4Validator(schema)
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
                for e in validator.iter_errors(body)]

    def request(self, operation: str, body: Any) -> list[str]:
        model, definition, _ = OPERATIONS[operation]
        return self._errors(model, definition, body) if definition else []

    def response(self, operation: str, status: int, body: Any) -> list[str]:
        model, _, responses = OPERATIONS[operation]
        definition = responses.get(status) or (ERROR_DEFINITION if status >= 400 else None)
        return self._errors(model, definition, body) if definition else []
