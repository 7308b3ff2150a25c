"""syncd: moves accounting documents between the systems a marketplace seller uses."""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("syncd")
"""Decorate plugin functions that implement the hooks in `syncd.hookspecs`."""

__all__ = ["__version__", "hookimpl"]
