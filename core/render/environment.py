"""The jinja2 environment: the integrator's template folder first, then the built-in templates.

Overriding works per file: put a `document.html` or `invoice.css` into the folder named by
`[render] templates` and only that file changes; everything else keeps the built-in version.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from syncd.errors import ConfigError

BUILTIN = Path(__file__).with_name("templates")


@lru_cache(maxsize=16)
def environment(templates: Path | None) -> jinja2.Environment:
    """A cached environment for one template folder (None: built-in templates only)."""
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        if not Path(templates).is_dir():
            raise ConfigError([f"render.templates: {templates} is not a folder"])
        loaders.append(jinja2.FileSystemLoader(str(templates)))
    loaders.append(jinja2.FileSystemLoader(str(BUILTIN)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(("html", "xml", "j2")),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates are read once per process; no stat() per render
        trim_blocks=False,
        lstrip_blocks=False,
    )
