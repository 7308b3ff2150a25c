"""Two WeasyPrint shortcuts, active only while syncd lays out and paints a batch.

Profiling a batch (callgrind instruction counts, deterministic) showed WeasyPrint's Python
overhead per text line dominating; two pieces of it are repeated work with the same answer:

- `resolve_percentages(box, containing_block)` turns a box's computed margins, paddings,
  widths and borders into used values; it is called ~200 times per invoice, almost always
  with a style shared by many boxes (WeasyPrint shares computed styles) and the same
  containing block size. The answer depends only on the style and that size, so it is
  remembered per batch (-3.6 % instructions).
- Every text line's Pango layout is built during layout, thrown away ("deactivated") and built
  again from scratch to paint the line. Within a batch the layout is kept and reused for
  painting when nothing about it changed (same style, no justification or word spacing), with
  the line-wrapping width cleared exactly as a rebuilt layout has it (-3.6 %).

- WeasyPrint builds the 16 margin boxes of every page (styles resolved, sizes computed) to
  find which of them have content. The variable layer of a document (syncd.render.stamps)
  is laid out on a named page, `VARIABLE_PAGE`, whose stylesheet gives none of them any
  content, so within a batch such a page gets none without building them (-4 %).

All are installed lazily and only when WeasyPrint's internals look as expected (WeasyPrint
70); outside `fast_layout()` every patched function behaves exactly as WeasyPrint's own.
`tests/test_render_speed.py` checks that pages come out byte-identical with and without the
first two, and that the layered pages draw exactly what the full template draws.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

VARIABLE_PAGE = "syncd-variable-layer"
"""Page name of the documents' variable layers; the built-in stylesheet gives its margin
boxes no content (a template override turns layering, and so this page name, off)."""

_state = threading.local()
_install_lock = threading.Lock()
_installed: bool | None = None

_USED = ("margin_left", "margin_right", "margin_top", "margin_bottom", "padding_left",
         "padding_right", "padding_top", "padding_bottom", "width", "min_width", "max_width",
         "height", "min_height", "max_height", "border_top_width", "border_right_width",
         "border_bottom_width", "border_left_width")


@contextmanager
def fast_layout() -> Iterator[None]:
    """Lay out and paint with the shortcuts on (this thread only, nestable)."""
    if not install():
        yield
        return
    outer = getattr(_state, "percentages", None)
    _state.percentages = {} if outer is None else outer
    try:
        yield
    finally:
        _state.percentages = outer


def active() -> bool:
    return getattr(_state, "percentages", None) is not None


def install() -> bool:
    """Patch WeasyPrint once; False (and nothing patched) when its internals differ."""
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = _patch()
        return _installed


def _patch() -> bool:
    try:
        import weasyprint.layout as layout_module
        from weasyprint.formatting_structure import boxes
        from weasyprint.layout import absolute, block, grid, inline, page, percent
        from weasyprint.layout import float as floats
        from weasyprint.text import line_break
        from weasyprint.text.constants import PANGO_WRAP_MODE
        from weasyprint.text.ffi import pango
    except ImportError:
        return False
    original = getattr(percent, "resolve_percentages", None)
    layout_cls = getattr(line_break, "Layout", None)
    users = [m for m in (percent, block, inline, absolute, page, floats, grid)
             if getattr(m, "resolve_percentages", None) is original]
    if original is None or layout_cls is None or not all(
            hasattr(layout_cls, name) for name in ("deactivate", "reactivate", "setup")):
        return False
    margins = getattr(layout_module, "make_margin_boxes", None)
    if margins is None or margins is not getattr(page, "make_margin_boxes", None):
        return False
    memo = _memo_percentages(original, boxes)
    for module in users:
        module.resolve_percentages = memo
    _keep_layouts(layout_cls, pango, PANGO_WRAP_MODE["WRAP_WORD"])
    layout_module.make_margin_boxes = _skip_empty_margins(margins)
    return True


def _skip_empty_margins(original: Callable[..., Any]) -> Callable[..., Any]:
    def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
        if active() and getattr(page.page_type, "name", None) == VARIABLE_PAGE:
            return iter(())
        return original(context, page, state)

    return make_margin_boxes


def _memo_percentages(original: Callable[..., None], boxes: Any) -> Callable[..., None]:
    def resolve_percentages(box: Any, containing_block: Any) -> None:
        cache = getattr(_state, "percentages", None)
        style = box.style
        if cache is None or style["border_collapse"] == "collapse":
            original(box, containing_block)
            return
        if isinstance(containing_block, boxes.Box):
            size = (containing_block.width, containing_block.height)
        else:
            size = tuple(containing_block)
        key = (id(style), *size, isinstance(box, boxes.PageBox))
        hit = cache.get(key)
        if hit is not None and hit[0] is style:  # the style itself keeps its id unique
            for name, value in zip(_USED, hit[1], strict=True):
                setattr(box, name, value)
            return
        original(box, containing_block)
        cache[key] = (style, tuple(getattr(box, name) for name in _USED))

    return resolve_percentages


def _keep_layouts(layout_cls: Any, pango: Any, wrap_word: int) -> None:
    deactivate, reactivate = layout_cls.deactivate, layout_cls.reactivate

    def keep_or_deactivate(self: Any) -> None:
        if active():
            self._syncd_kept = True
            return
        deactivate(self)

    def reuse_or_reactivate(self: Any, style: Any) -> None:
        if (getattr(self, "_syncd_kept", False) and active() and style is self.style
                and not self.justification_spacing and not style["word_spacing"]):
            # a rebuilt layout has no wrapping width and wraps at words: the same state
            pango.pango_layout_set_width(self.layout, -1)
            pango.pango_layout_set_wrap(self.layout, wrap_word)
            return
        if getattr(self, "_syncd_kept", False):
            self._syncd_kept = False
            deactivate(self)
        reactivate(self, style)

    layout_cls.deactivate = keep_or_deactivate
    layout_cls.reactivate = reuse_or_reactivate
