"""The PDF renderer: many documents laid out as one WeasyPrint document, then cut apart.

Almost all the time of a naive WeasyPrint invoice goes into font subsetting, which happens once
per `write_pdf`. Laying out a whole batch as one HTML document pays that cost once; pikepdf then
splits the result into standalone PDFs (each keeps the fonts, the sRGB output intent and, with
`einvoice="zugferd"`, becomes PDF/A-3b with its own factur-x.xml). Large batches are spread over
the available cores with a process pool.
"""

from __future__ import annotations

import gc
import io
import math
import multiprocessing
import os
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree

import cssselect2
import pikepdf
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint import html as weasy_html

from syncd.connectors import Company
from syncd.errors import SyncdError
from syncd.model import Document, Seller
from syncd.render import Renderer, RenderOptions
from syncd.render.cii import cii_xml
from syncd.render.environment import BUILTIN, environment
from syncd.render.fonts import font_faces
from syncd.render.language import choose_language
from syncd.render.pdfa import EMBEDDED, Embedded, make_pdfa
from syncd.render.speedups import fast_layout
from syncd.render.stamps import Sections, layered, underlay
from syncd.render.view import DocumentView, build_view, resolve_seller

BATCH_SIZE = 50
"""Documents per WeasyPrint layout. With the compact font, subsetting costs ~50 ms per batch,
so 50 documents earn it back while peak memory stays ~170 MiB (200 would need ~370 MiB)."""

POOL_THRESHOLD = 100
"""Below this many documents one process is faster than starting workers (~1 s each)."""

PRODUCER = "syncd (WeasyPrint, pikepdf)"


_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a batch is laid out and painted.

    A batch keeps hundreds of thousands of live objects (boxes, styles, Pango layouts);
    every allocation-triggered collection walks them all for nothing, which cost ~20 % of
    the batch time. Reference counting still frees everything else; cycles left by the
    batch are collected normally once the collector is back on. Nests and is thread-safe:
    the collector comes back when the last holder leaves.
    """
    global _gc_holders, _gc_was_enabled
    with _gc_lock:
        if _gc_holders == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holders += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders == 0 and _gc_was_enabled:
                gc.enable()


_NOTE_RULE = re.compile(r"^::(footnote|note)-[a-z-]+ \{[^}]*\}$", re.MULTILINE)


@lru_cache(maxsize=1)
def lean_ua_stylesheet() -> CSS | None:
    """WeasyPrint's HTML user-agent stylesheet without its footnote and note pseudo-elements.

    Those five `::footnote-*`/`::note-*` rules match every element, so WeasyPrint computes
    five extra pseudo-element styles per element (~7 % of an invoice's time) for footnotes
    an invoice never has. None when the stylesheet text is not where WeasyPrint 70 keeps it.
    """
    text = getattr(weasy_html, "UA", None)
    counters = getattr(weasy_html, "UA_COUNTER_STYLE", None)
    if not isinstance(text, str) or counters is None:
        return None
    lean, removed = _NOTE_RULE.subn("", text)
    return CSS(string=lean, counter_style=counters) if removed else None


class InvoiceHTML(HTML):
    """An HTML document laid out with the lean user-agent stylesheet (no footnote support).

    `uses_notes` keeps WeasyPrint's full stylesheet for HTML that may use footnotes or notes
    (`float: footnote`, `position: note()`) or pulls in stylesheets we cannot see.

    `xml=True` (the built-in templates, which are well-formed XHTML) parses the markup with
    expat instead of WeasyPrint's pure-Python HTML5 parser: ~7x faster, ~2 ms per invoice.
    Markup that is not well-formed XML (an entity such as `&nbsp;`, an unclosed `<br>`) is
    parsed the HTML5 way as before, so the result never depends on which parser ran.
    """

    def __init__(self, *, string: str, base_url: str, xml: bool = False) -> None:
        root = _xml_root(string) if xml else None
        if root is None:
            super().__init__(string=string, base_url=base_url)
        else:  # everything else (URL fetcher, base URL, media type) as WeasyPrint sets it
            super().__init__(string="<html></html>", base_url=base_url)
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(
                root, content_language=None)
            self.etree_element = self.wrapper_element.etree_element
        self._lean = not uses_notes(string)

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        sheets = super()._ua_stylesheets(forms)
        lean = lean_ua_stylesheet() if self._lean else None
        if lean is None:
            return sheets
        return [lean if sheet is weasy_html.UA_STYLESHEET else sheet for sheet in sheets]


def _xml_root(markup: str) -> ElementTree.Element | None:
    """The element tree of well-formed XHTML without namespaces (the shape WeasyPrint's own
    parser gives with `namespace_html_elements=False`); None when it is not such markup."""
    try:
        root = ElementTree.fromstring(markup)
    except ElementTree.ParseError:
        return None
    if root.tag != "html" or any("}" in str(el.tag) for el in root.iter()):
        return None
    return root


def uses_notes(html: str) -> bool:
    """Whether `html` may need WeasyPrint's footnote/note rules (or loads outside CSS)."""
    return "footnote" in html or "note(" in html or "<link" in html or "@import" in html


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class PdfRenderer(Renderer):
    """Invoices and credit notes as PDF; PDF/A-3b with embedded Factur-X XML on request."""

    name = "pdf"
    media_type = "application/pdf"

    def __init__(
        self,
        options: RenderOptions,
        company: Company | None = None,
        *,
        workers: int | None = None,
        batch_size: int = BATCH_SIZE,
        pool_threshold: int = POOL_THRESHOLD,
        compact_fonts: bool = True,
    ) -> None:
        super().__init__(options, company)
        self.workers = workers if workers is not None else available_cores()
        self.batch_size = batch_size
        self.pool_threshold = pool_threshold
        self.compact_fonts = compact_fonts
        self._xhtml = builtin_markup(options.templates)
        self._layered = layered(options.templates)

    def render(self, document: Document) -> bytes:
        return self.render_batch([document])[0]

    def render_many(self, documents: Sequence[Document]) -> list[bytes]:
        """One PDF per document, in order; big inputs are split over a process pool."""
        docs = list(documents)
        if not docs:
            return []
        workers = min(self.workers, math.ceil(2 * len(docs) / self.pool_threshold))
        if workers <= 1 or len(docs) < self.pool_threshold:
            out: list[bytes] = []
            for start in range(0, len(docs), self.batch_size):
                out.extend(self.render_batch(docs[start:start + self.batch_size]))
            return out
        # equal chunks of at most batch_size, a multiple of the worker count so no worker
        # idles at the end while another renders the last chunk alone
        rounds = math.ceil(math.ceil(len(docs) / self.batch_size) / workers)
        chunks = workers * rounds
        size = math.ceil(len(docs) / chunks)
        parts = [docs[i:i + size] for i in range(0, len(docs), size)]
        context = multiprocessing.get_context("forkserver")
        # the fork server imports WeasyPrint once; each worker then forks ready to render
        context.set_forkserver_preload(["syncd.render.pdf"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = pool.map(
                _render_chunk,
                [(self.options, self.company, self.batch_size, self.compact_fonts, part)
                 for part in parts],
            )
            return [pdf for result in results for pdf in result]

    # -- one batch in this process -------------------------------------------------------

    def views(self, documents: Sequence[Document]) -> list[DocumentView]:
        fallback = self.company.seller if self.company is not None else None
        logo = self.options.logo or (self.company.logo if self.company is not None else None)
        if logo and "://" not in logo:
            logo = Path(logo).resolve().as_uri()
        return [
            build_view(
                doc,
                choose_language(doc, self.options.language),
                resolve_seller(doc, fallback),
                index=i,
                footer=self.options.footer,
                logo=logo,
            )
            for i, doc in enumerate(documents)
        ]

    def html(self, documents: Sequence[Document]) -> str:
        """The HTML of one layout run covering `documents` (handy for template debugging)."""
        return self._html(self.views(documents))

    def _html(self, views: list[DocumentView], paged: bool = False,
              stamps: Sequence[Markup] | None = None) -> str:
        """`stamps`: the documents are laid out as their variable layer, followed by these
        static layers (syncd.render.stamps); None: every document with the full template."""
        template = environment(self.options.templates).get_template("batch.html")
        faces = Markup(font_faces() if self.compact_fonts else "")
        labels = views[0].labels if paged and views else {}
        return template.render(
            documents=views, font_faces=faces,
            page_label=_css_text(labels.get("page", "")), of_label=_css_text(labels.get("of", "")),
            layer="full" if stamps is None else "variable", stamps=stamps or [],
        )

    def render_batch(self, documents: Sequence[Document]) -> list[bytes]:
        """Lay out `documents` in one WeasyPrint run and cut the result into one PDF each.

        A document longer than one page is laid out once more on its own, because page
        numbers ("Seite 2 von 3") need counters that start at the document, not the batch.
        """
        with no_cycle_collection():
            return self._render_batch(documents)

    def _render_batch(self, documents: Sequence[Document]) -> list[bytes]:
        profile = EMBEDDED.get(self.options.einvoice)
        views = self.views(documents)
        xmls = [
            cii_xml(doc, self._seller(doc), guideline=profile.guideline, language=view.language)
            for doc, view in zip(documents, views, strict=True)
        ] if profile else []
        out, ranges = self._lay_out(views, xmls, profile, paged=False)
        for i, pages in enumerate(ranges):
            if len(pages) > 1:
                alone = [replace(views[i], anchor="doc-0")]
                out[i] = self._lay_out(alone, xmls[i:i + 1], profile, paged=True)[0][0]
        return out

    def _lay_out(
        self, views: list[DocumentView], xmls: list[bytes], profile: Embedded | None,
        paged: bool,
    ) -> tuple[list[bytes], list[range]]:
        base = self.options.templates or BUILTIN
        # one page each holds a document's own content: its letterhead and footer are drawn
        # once per batch as static layers and put under it (not for multi-page documents,
        # which are laid out again on their own, with page numbers)
        sections = Sections(self.options.templates, views) \
            if self._layered and not paged else None
        with fast_layout():
            html = self._html(views, paged, sections.html if sections else None)
            layout = InvoiceHTML(string=html, base_url=str(base) + "/", xml=self._xhtml).render()
            pdf = layout.write_pdf(pdf_variant="pdf/a-3b" if profile else None)
        names = [v.anchor for v in views] + (sections.anchors() if sections else [])
        found = page_ranges([p.anchors for p in layout.pages], names)
        ranges, stamps = found[:len(views)], found[len(views):]
        pdfs = split(
            pdf,
            ranges,
            titles=[f"{v.title} {v.number}" for v in views],
            authors=[v.seller.lines[0] for v in views],
            xmls=xmls or None,
            profile=profile,
            stamps=(stamps, sections.placements(layout.pages, ranges, stamps))
            if sections else None,
        )
        return pdfs, ranges

    def _seller(self, document: Document) -> Seller:
        return resolve_seller(document, self.company.seller if self.company else None)


def builtin_markup(templates: Path | None) -> bool:
    """Whether the HTML skeleton and the document template are the built-in (XHTML) ones; an
    override folder may change only the stylesheet and keep the fast parser."""
    return templates is None or not any(
        (Path(templates) / name).exists() for name in ("batch.html", "document.html"))


def _css_text(text: str) -> str:
    """`text` safe inside a double-quoted CSS string."""
    return text.replace("\\", "").replace('"', "")


def _render_chunk(
    job: tuple[RenderOptions, Company | None, int, bool, list[Document]],
) -> list[bytes]:
    """Worker side of the pool: one process renders its share in batches."""
    options, company, batch_size, compact_fonts, documents = job
    renderer = PdfRenderer(options, company, workers=1, batch_size=batch_size,
                           compact_fonts=compact_fonts)
    return renderer.render_many(documents)


def page_ranges(anchors: Sequence[dict], names: Sequence[str]) -> list[range]:
    """Which pages belong to which document: each starts on the page holding its anchor."""
    starts: dict[str, int] = {}
    for number, found in enumerate(anchors):
        for name in found:
            starts.setdefault(name, number)
    missing = [n for n in names if n not in starts]
    if missing:
        raise SyncdError(f"layout lost the start of {missing[0]}: a template must keep "
                         'id="{{ doc.anchor }}" on the first page of each document')
    firsts = [starts[n] for n in names]
    ends = [*firsts[1:], len(anchors)]
    ranges = [range(a, b) for a, b in zip(firsts, ends, strict=True)]
    for name, r in zip(names, ranges, strict=True):
        if not r:
            raise SyncdError(f"{name} shares a page with the next document: a template must "
                             "start each document on a new page")
    return ranges


def split(
    pdf: bytes,
    ranges: Sequence[range],
    *,
    titles: Sequence[str],
    authors: Sequence[str],
    xmls: Sequence[bytes] | None = None,
    profile: Embedded | None = None,
    stamps: tuple[Sequence[range], Sequence[Sequence[tuple[int, float]]]] | None = None,
) -> list[bytes]:
    """Cut `pdf` into one standalone file per page range; PDF/A-3b with XML when `xmls`.
    `stamps`: the static layers' pages and which go under each range's page, and where."""
    when = datetime.now(UTC)
    out = []
    with pikepdf.open(io.BytesIO(pdf)) as source:
        if stamps is not None:
            underlay(source, ranges, *stamps)
        intents = source.Root.get("/OutputIntents")
        if intents is not None and not intents.is_indirect:
            intents = source.make_indirect(intents)  # copy_foreign needs an indirect object
        for i, pages in enumerate(ranges):
            target = pikepdf.new()
            target.pages.extend(source.pages[pages.start:pages.stop])
            if xmls is not None:
                if intents is None:
                    raise SyncdError("WeasyPrint produced no output intent for PDF/A-3b")
                target.Root.OutputIntents = target.copy_foreign(intents)
                make_pdfa(target, title=titles[i], author=authors[i], producer=PRODUCER,
                          xml=xmls[i], when=when, profile=profile or EMBEDDED["zugferd"])
            else:
                target.docinfo.Title = titles[i]
                target.docinfo.Author = authors[i]
                target.docinfo.Producer = PRODUCER
            buffer = io.BytesIO()
            target.save(
                buffer,
                min_version=source.pdf_version,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                compress_streams=True,
            )
            out.append(buffer.getvalue())
    return out
