"""The built-in renderers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from collections.abc import Callable

from syncd import hookimpl


@hookimpl
def register_renderers(register: Callable[[type], None]) -> None:
    # imported here, not at module level: WeasyPrint takes half a second to load, and
    # commands such as `syncd --version` never render
    from syncd.render.pdf import PdfRenderer
    from syncd.render.xrechnung import XRechnungRenderer

    register(PdfRenderer)
    register(XRechnungRenderer)
