"""Static layers: the part of a page that many documents of a batch share, laid out once.

Most of an invoice's cost is WeasyPrint laying out and painting text lines one by one. About
a third of those lines read the same on every invoice of a seller in one language: the
letterhead, the sender line and "billing address" label of the address window, the labels of
the reference block beside it and the page footer (all at fixed places), and the line items'
column heads (which move with the document's content). On the batch path each document is
laid out without them (its "variable" layer, where each of those blocks keeps an empty or
hidden box of the same size), and each distinct static layer is laid out once, as an extra
page of the same WeasyPrint run. That page becomes a form XObject drawn
under every page that needs it, moved to where that page has the block, so the final page
shows exactly what the full template draws, text included.

Only the built-in templates are layered: an override could make a static block's height
depend on its text, and then the layers would no longer line up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pikepdf
from markupsafe import Markup

from syncd.errors import SyncdError
from syncd.render.environment import environment
from syncd.render.view import DocumentView

FILES = ("batch.html", "document.html", "invoice.css")
STAMP = "/SyncdStatic"
# static layer -> the class of the block whose place it follows (None: fixed places)
LAYERS: dict[str, str | None] = {"static": None, "static-lines": "lines"}
PT_PER_PX = 0.75  # WeasyPrint lays out in CSS px and paints in PDF points


def layered(templates: Path | None) -> bool:
    """Whether documents rendered with `templates` may be split into layers."""
    return templates is None or not any((Path(templates) / name).exists() for name in FILES)


def anchor(index: int) -> str:
    return f"stamp-{index}"


class Sections:
    """The distinct static layers of a batch and which of them each document uses."""

    def __init__(self, templates: Path | None, views: Sequence[DocumentView]) -> None:
        template = environment(templates).get_template("document.html")
        found: dict[tuple[str, str], int] = {}
        self.layers: list[str] = []
        self.html: list[Markup] = []
        self.uses: list[tuple[int, ...]] = []
        for view in views:
            uses = []
            for layer in LAYERS:
                key = (layer, template.render(doc=replace(view, anchor=""), layer=layer))
                if key not in found:
                    found[key] = len(self.html)
                    self.layers.append(layer)
                    self.html.append(Markup(template.render(
                        doc=replace(view, anchor=anchor(len(self.html))), layer=layer)))
                uses.append(found[key])
            self.uses.append(tuple(uses))

    def anchors(self) -> list[str]:
        return [anchor(i) for i in range(len(self.html))]

    def placements(self, pages: Sequence[Any], documents: Sequence[range],
                   stamps: Sequence[range]) -> list[list[tuple[int, float]]]:
        """Per document, (stamp, vertical shift in points) for each static layer it uses;
        nothing for a document of several pages (laid out again alone, with page numbers)."""
        for index, stamp in enumerate(stamps):
            if len(stamp) != 1:
                raise SyncdError(f"the static layer {anchor(index)} took {len(stamp)} pages")
        tops = [_tops(pages[stamp.start]) for stamp in stamps]
        out: list[list[tuple[int, float]]] = []
        for doc_pages, uses in zip(documents, self.uses, strict=True):
            if len(doc_pages) != 1:
                out.append([])
                continue
            mine = _tops(pages[doc_pages.start])
            placed = []
            for use in uses:
                follows = LAYERS[self.layers[use]]
                shift = 0.0 if follows is None else _top(mine, follows) - _top(tops[use], follows)
                placed.append((use, -shift * PT_PER_PX))  # PDF's y axis points up
            out.append(placed)
        return out


def _tops(page: Any) -> dict[str, float]:
    """The top of the first box of each class on a laid-out WeasyPrint page."""
    tops: dict[str, float] = {}
    for box in page._page_box.descendants():
        element = getattr(box, "element", None)
        if element is not None:
            for name in (element.get("class") or "").split():
                tops.setdefault(name, box.position_y)
    return tops


def _top(tops: dict[str, float], name: str) -> float:
    if name not in tops:
        raise SyncdError(f"a static layer follows .{name}, which the page does not have")
    return tops[name]


def underlay(source: pikepdf.Pdf, documents: Sequence[range], stamps: Sequence[range],
             placements: Sequence[Sequence[tuple[int, float]]]) -> None:
    """Draw each document's static layers (stamp pages, shifted) under its page."""
    forms: dict[int, pikepdf.Object] = {}
    for doc_pages, placed in zip(documents, placements, strict=True):
        if not placed:
            continue
        page = source.pages[doc_pages.start]
        # WeasyPrint's pages share one resource dictionary: give this page its own, or every
        # page (and every file cut from the batch) would carry every stamp
        resources = pikepdf.Dictionary(dict(page.Resources.items()))
        xobjects = pikepdf.Dictionary(dict(resources.get(pikepdf.Name.XObject, {}).items()))
        drawn = []
        for number, (use, shift) in enumerate(placed):
            form = forms.get(use)
            if form is None:
                form = forms[use] = source.make_indirect(
                    source.pages[stamps[use].start].as_form_xobject())
            name = pikepdf.Name(f"{STAMP}{number or ''}")
            if name in xobjects:
                raise SyncdError(f"page {doc_pages.start + 1} already has a {name} XObject")
            xobjects[name] = form
            drawn.append(f"q 1 0 0 1 0 {shift:.6f} cm {name} Do Q\n".encode())
        resources[pikepdf.Name.XObject] = xobjects
        page.Resources = resources
        page.contents_add(pikepdf.Stream(source, b"".join(drawn)), prepend=True)
