"""The fast rendering path changes no page: the expat parser and the layout shortcuts."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf

from syncd.render import RenderOptions
from syncd.render.language import LANGUAGES
from syncd.render.pdf import PdfRenderer
from syncd.render.samples import sample_credit_note, sample_export, sample_intra_eu, sample_invoice

from .render_helpers import pdf_text


def _page_streams(pdf: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        return [page.Contents.read_bytes() for page in opened.pages]


def test_fast_xml_parse_lays_out_exactly_like_the_html5_parser(tmp_path: Path):
    from syncd.render.environment import BUILTIN
    from syncd.render.pdf import InvoiceHTML, _xml_root, builtin_markup

    docs = [sample_invoice(lang, f"INV-{lang}") for lang in LANGUAGES]
    docs += [sample_credit_note("de"), sample_export(), sample_intra_eu()]
    html = PdfRenderer(RenderOptions(), workers=1).html(docs)
    base = str(BUILTIN) + "/"
    fast = InvoiceHTML(string=html, base_url=base, xml=True)
    slow = InvoiceHTML(string=html, base_url=base)
    assert fast.etree_element is not slow.etree_element
    assert _page_streams(fast.render().write_pdf()) == _page_streams(slow.render().write_pdf())
    # markup that is not XML (an HTML entity, an unclosed tag) falls back to HTML5 parsing
    markup = "<html><body><p>a&nbsp;b<br>c</p></body></html>"
    assert _xml_root(markup) is None and _xml_root(html) is not None
    loose = InvoiceHTML(string=markup, base_url=base, xml=True)
    assert pdf_text(loose.render().write_pdf()) == "a b c"
    # only the built-in skeleton and document template are known to be XHTML
    assert builtin_markup(None) and builtin_markup(tmp_path)
    (tmp_path / "document.html").write_text("<section></section>")
    assert not builtin_markup(tmp_path)


def test_layout_shortcuts_change_no_page_and_stay_inside_the_batch():
    from weasyprint.layout import block
    from weasyprint.text import line_break

    from syncd.render.environment import BUILTIN
    from syncd.render.pdf import InvoiceHTML
    from syncd.render.speedups import active, fast_layout

    docs = [sample_invoice(lang, f"INV-{lang}") for lang in LANGUAGES]
    docs += [sample_credit_note("fr"), sample_export(), sample_intra_eu()]
    html = PdfRenderer(RenderOptions(), workers=1).html(docs)

    def pages(fast: bool) -> list[bytes]:
        document = InvoiceHTML(string=html, base_url=str(BUILTIN) + "/", xml=True)
        if not fast:
            return _page_streams(document.render().write_pdf())
        with fast_layout():
            assert active()
            return _page_streams(document.render().write_pdf())

    assert pages(fast=True) == pages(fast=False)
    assert not active()  # off again outside the batch
    assert block.resolve_percentages.__module__ == "syncd.render.speedups"
    assert line_break.Layout.deactivate.__module__ == "syncd.render.speedups"
