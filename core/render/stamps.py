"""Static layers: the part of a page that many documents of a batch share, laid out once.

Most of an invoice's cost is WeasyPrint laying out and painting text lines one by one. A
quarter of those lines are the same on every invoice of a seller in one language and sit at
fixed places: the letterhead, the sender line and "billing address" label of the address
window, the labels of the reference block beside it, and the page footer. On the batch path
each document is laid out without them (its "variable" layer, where each of those blocks keeps
an empty box of the same size), and each distinct static layer is laid out once, as an extra
page of the same WeasyPrint run. Its page then becomes a form XObject drawn under every page
that needs it, so the final page shows exactly what the full template draws, text included.

Only the built-in templates are layered: an override could make a static block's height
depend on its text, and then the two layers would no longer line up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pikepdf
from markupsafe import Markup

from syncd.errors import SyncdError
from syncd.render.environment import environment
from syncd.render.view import DocumentView

FILES = ("batch.html", "document.html", "invoice.css")
STAMP = pikepdf.Name("/SyncdStatic")


def layered(templates: Path | None) -> bool:
    """Whether documents rendered with `templates` may be split into two layers."""
    return templates is None or not any((Path(templates) / name).exists() for name in FILES)


def anchor(index: int) -> str:
    return f"stamp-{index}"


def static_sections(templates: Path | None, views: Sequence[DocumentView],
                    ) -> tuple[list[Markup], list[int]]:
    """The distinct static layers of `views` as HTML sections, and which one each view uses."""
    template = environment(templates).get_template("document.html")
    sections: dict[str, int] = {}
    uses = []
    found: list[DocumentView] = []
    for view in views:
        key = template.render(doc=replace(view, anchor=""), layer="static")
        if key not in sections:
            sections[key] = len(found)
            found.append(view)
        uses.append(sections[key])
    html = [Markup(template.render(doc=replace(view, anchor=anchor(i)), layer="static"))
            for i, view in enumerate(found)]
    return html, uses


def underlay(source: pikepdf.Pdf, pages: Sequence[range], stamps: Sequence[range],
             uses: Sequence[int]) -> None:
    """Draw stamp page `stamps[uses[i]]` under the single page of document i, in `source`.

    A document longer than one page is left alone: it is laid out again on its own with the
    full template anyway (its page numbers need that).
    """
    forms: dict[int, pikepdf.Object] = {}
    for doc_pages, use in zip(pages, uses, strict=True):
        if len(doc_pages) != 1:
            continue
        form = forms.get(use)
        if form is None:
            stamp = stamps[use]
            if len(stamp) != 1:
                raise SyncdError(f"the static layer {anchor(use)} took {len(stamp)} pages")
            form = forms[use] = source.make_indirect(
                source.pages[stamp.start].as_form_xobject())
        page = source.pages[doc_pages.start]
        # WeasyPrint's pages share one resource dictionary: give this page its own, or every
        # page (and every file cut from the batch) would carry every stamp
        resources = pikepdf.Dictionary(dict(page.Resources.items()))
        xobjects = pikepdf.Dictionary(dict(resources.get(pikepdf.Name.XObject, {}).items()))
        if STAMP in xobjects:
            raise SyncdError(f"page {doc_pages.start + 1} already has a {STAMP} XObject")
        xobjects[STAMP] = form
        resources[pikepdf.Name.XObject] = xobjects
        page.Resources = resources
        page.contents_add(pikepdf.Stream(source, b"q " + STAMP.unparse() + b" Do Q\n"),
                          prepend=True)
