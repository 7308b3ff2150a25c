"""The built-in renderers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from syncd import hookimpl
from syncd.render.pdf import PdfRenderer
from syncd.render.xrechnung import XRechnungRenderer


@hookimpl
def register_renderers(register: Callable[[type], None]) -> None:
    register(PdfRenderer)
    register(XRechnungRenderer)
