"""A renderer whose files are archived: rendered once per document, the same bytes for all.

Without it each target renders its own copy (Amazon and Xentral would hold two different PDFs
of one invoice: the batch's font subset and the PDF/A timestamp differ) and a retry after a
crash uploads a new rendering. `ArchivedRenderer` wraps the pipeline's renderer: a document's
file is looked up by a key over the renderer's settings and the whole numbered document, and
only missing ones are rendered (in one batch) and archived by the engine's store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from syncd.model import Document
from syncd.render import Renderer

if TYPE_CHECKING:
    from syncd.render.einvoice import EInvoiceFile


class RenderArchive(Protocol):
    """Where archived files live (the state store)."""

    def rendered(self, keys: Collection[str]) -> dict[str, bytes]: ...

    def keep_rendered(self, files: Mapping[str, bytes], media_type: str
                      ) -> dict[str, bytes]: ...


class ArchivedRenderer(Renderer):
    """`inner`'s files, each rendered once and then served from `archive`."""

    name = "archived"
    media_type = "application/octet-stream"

    def __init__(self, inner: Renderer, archive: RenderArchive) -> None:
        super().__init__(inner.options, inner.company)
        self.inner = inner
        self.archive = archive
        self._settings = settings_fingerprint(inner)

    def key(self, document: Document) -> str:
        return hashlib.sha256(f"{self._settings}\n{document.model_dump_json()}".encode()
                              ).hexdigest()

    def render(self, document: Document) -> bytes:
        return self.render_many([document])[0]

    def render_many(self, documents: Sequence[Document]) -> list[bytes]:
        keys = [self.key(d) for d in documents]
        found = self.archive.rendered(keys) if keys else {}
        missing = {k: d for k, d in zip(keys, documents, strict=True) if k not in found}
        if missing:
            files = self.inner.render_many(list(missing.values()))
            if len(files) != len(missing):
                raise RuntimeError(f"renderer returned {len(files)} files for {len(missing)} "
                                   "documents")
            made = {k: bytes(f) for k, f in zip(missing, files, strict=True)}
            # another worker's file where it archived the same key first
            found.update(self.archive.keep_rendered(made, self.inner.media_type))
        return [found[k] for k in keys]

    def archived(self, document: Document) -> bytes | None:
        """The file as issued, if it was rendered (the dashboard shows this one)."""
        key = self.key(document)
        return self.archive.rendered([key]).get(key)

    def wants_einvoice(self, document: Document) -> bool:
        return self.inner.wants_einvoice(document)

    def einvoice(self, document: Document) -> EInvoiceFile | None:
        return self.inner.einvoice(document)


def settings_fingerprint(renderer: Renderer) -> str:
    """Everything besides the document that shapes the file: the renderer, its options,
    the company, and the content of the template folder and logo when they are files."""
    from syncd import __version__

    options = asdict(renderer.options)
    parts = {
        "renderer": f"{type(renderer).__module__}.{type(renderer).__qualname__}",
        "syncd": __version__,
        "options": {k: str(v) if v is not None else None for k, v in options.items()},
        "company": repr(renderer.company),
        "templates": _folder_digest(renderer.options.templates),
        "logo": _file_digest(renderer.options.logo),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _folder_digest(folder: Path | None) -> str | None:
    if folder is None or not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _file_digest(value: str | None) -> str | None:
    if not value:
        return None
    path = Path(value)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else value
