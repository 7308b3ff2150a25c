"""A minimal syncd plugin: one config model, one source, one target.

Relative paths in `[plugins.example]` (`inbox`, `outbox`) resolve against the folder of
syncd.toml, through `context.path(...)`, never against the directory syncd was started in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import ValidationError

from syncd import hookimpl
from syncd.connectors import (
    Batch,
    Cursor,
    PluginConfig,
    Rejected,
    RemoteRef,
    Source,
    Target,
    Window,
)
from syncd.errors import InputError, SyncdError
from syncd.model import Document

SYNCD_PLUGIN_API = 2
"""The syncd plugin API this package is written for; syncd refuses to load it when its own
`syncd.PLUGIN_API_VERSION` differs (pyproject.toml pins the syncd versions that offer it)."""


class ExampleConfig(PluginConfig):
    inbox: Path = Path("documents.jsonl")
    """JSON lines to read; relative to the folder of syncd.toml."""
    outbox: Path = Path("delivered")
    """Folder the target writes to; relative to the folder of syncd.toml."""


class JsonLinesSource(Source):
    """Each line of `inbox` is one document; the cursor remembers how many lines were read."""

    name = "jsonl"
    config_model = ExampleConfig

    @property
    def inbox(self) -> Path:
        return self.context.path(self.config.inbox)

    def check(self) -> None:
        if not self.inbox.exists():
            raise InputError(str(self.inbox), "file not found")

    def read(self, cursor: Cursor | None, window: Window | None = None) -> Iterator[Batch]:
        done = int((cursor or {}).get("lines", 0))
        items: list = []
        if not self.inbox.exists():
            raise InputError(str(self.inbox), "file not found (relative paths in "
                             "[plugins.example] start at the folder of syncd.toml)")
        with self.inbox.open(encoding="utf-8") as fh:
            for number, text in enumerate(fh, start=1):
                if number <= done or not text.strip():
                    continue
                try:
                    items.append(Document.model_validate_json(text))
                except ValidationError as exc:  # one line naming each bad field
                    fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}"
                                       for e in exc.errors(include_url=False))
                    items.append(Rejected(f"line-{number}", f"{self.inbox}:{number}: {fields}"))
                except (ValueError, SyncdError) as exc:
                    items.append(Rejected(f"line-{number}", f"{self.inbox}:{number}: {exc}"))
                done = number
        yield Batch(items=items, cursor={"lines": done})


def _filename(document: Document) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{document.source}_{document.source_key}") + ".json"


class FolderTarget(Target):
    """Writes documents as JSON files; a file that exists is a delivery that already landed."""

    name = "folder"
    config_model = ExampleConfig

    @property
    def outbox(self) -> Path:
        return self.context.path(self.config.outbox)

    def deliver(self, document: Document) -> RemoteRef:
        self.outbox.mkdir(parents=True, exist_ok=True)
        path = self.outbox / _filename(document)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(document.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)  # atomic: a crash leaves no half-written delivery
        return RemoteRef(str(path))

    def find_existing(self, document: Document) -> RemoteRef | None:
        path = self.outbox / _filename(document)
        if path.exists() and json.loads(path.read_text("utf-8")).get("source_key"):
            return RemoteRef(str(path))
        return None


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("example", ExampleConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    register(JsonLinesSource)


@hookimpl
def register_targets(register: Callable[[type], None]) -> None:
    register(FolderTarget)
