"""syncd: moves accounting documents between the systems a marketplace seller uses."""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

PLUGIN_API_VERSION = 2
"""The connector contract's version (2: spine v2, steps, links, attachments by reference).

A plugin module declares the version it was written for as `SYNCD_PLUGIN_API = 2`;
`load_plugins` refuses, with an explanation, a plugin declaring any other version. It is
raised only when the contract changes incompatibly, never for additions.
"""

hookimpl = pluggy.HookimplMarker("syncd")
"""Decorate plugin functions that implement the hooks in `syncd.hookspecs`."""

__all__ = ["PLUGIN_API_VERSION", "__version__", "hookimpl"]
