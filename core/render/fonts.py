"""A compact copy of the invoice font: DejaVu Sans cut down to the European Latin scripts.

WeasyPrint subsets the embedded fonts on every `write_pdf`, and fontTools' time grows with
the size of the source font: the full DejaVu Sans (6,000 glyphs, large GSUB/GPOS tables) costs
~0.3 s per call. Pre-subsetting it once to the ~700 glyphs that de/en/fr/it/es documents use
makes every later subset several times cheaper (a single `render()` gets ~2.5x faster). The
CSS keeps "DejaVu Sans" and `sans-serif` behind the compact family, so a buyer name in Greek,
Cyrillic or CJK still falls back to a system font that has the glyphs.

The compact files are generated on first use into a cache folder (never shipped).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from syncd.log import get_logger

FAMILY = "syncd sans"
SOURCE_FAMILY = "DejaVu Sans"
STYLES: dict[tuple[str, str], str] = {
    ("normal", "normal"): "Book",
    ("bold", "normal"): "Bold",
    ("normal", "italic"): "Oblique",
    ("bold", "italic"): "Bold Oblique",
}
UNICODES: tuple[int, ...] = (
    *range(0x20, 0x7F),        # Basic Latin
    *range(0xA0, 0x250),       # Latin-1 Supplement, Latin Extended-A and -B
    *range(0x2000, 0x2070),    # General Punctuation (NBSP variants, dashes, quotes, ·, …)
    *range(0x20A0, 0x20C1),    # Currency symbols (€, …)
    *range(0x2100, 0x2150),    # Letterlike symbols (№, ™)
    0x2212,                    # minus sign
)
VERSION = "1"

log = get_logger("syncd.render.fonts")


def cache_dir() -> Path:
    """$SYNCD_CACHE_DIR, else $XDG_CACHE_HOME/syncd, else ~/.cache/syncd; plus /fonts."""
    base = os.environ.get("SYNCD_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return (root if os.environ.get("SYNCD_CACHE_DIR") else root / "syncd") / "fonts"


def find_font(style: str) -> Path | None:
    """The file of DejaVu Sans in `style`, asked from fontconfig (None when absent)."""
    if shutil.which("fc-match") is None:
        return None
    out = subprocess.run(
        ["fc-match", "--format=%{file}\n%{family}", f"{SOURCE_FAMILY}:style={style}"],
        capture_output=True, text=True, check=False,
    )
    lines = out.stdout.splitlines()
    if out.returncode != 0 or len(lines) < 2 or SOURCE_FAMILY not in lines[1]:
        return None
    path = Path(lines[0])
    return path if path.is_file() else None


def compact_font(source: Path, target_dir: Path) -> Path:
    """The Latin subset of `source` in `target_dir`, made once (atomically, process-safe)."""
    stat = source.stat()
    key = hashlib.sha256(f"{VERSION}|{source}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    target = target_dir / f"{source.stem}-latin-{key.hexdigest()[:12]}.ttf"
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    options = subset.Options()
    options.layout_features = ["kern", "liga", "calt", "ccmp", "locl", "mark", "mkmk"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    font = TTFont(str(source))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=UNICODES)
    subsetter.subset(font)
    with tempfile.NamedTemporaryFile(dir=target_dir, suffix=".tmp", delete=False) as tmp:
        font.save(tmp)
    os.replace(tmp.name, target)
    return target


@lru_cache(maxsize=1)
def font_faces() -> str:
    """@font-face rules for the compact family; empty when DejaVu Sans is not installed."""
    rules = []
    for (weight, style), fc_style in STYLES.items():
        source = find_font(fc_style)
        if source is None:
            continue
        try:
            path = compact_font(source, cache_dir())
        except OSError as exc:  # read-only home, full disk: render with the system font
            log.warning("compact font unavailable", font=str(source), error=str(exc))
            return ""
        rules.append(
            f'@font-face {{ font-family: "{FAMILY}"; font-weight: {weight}; '
            f'font-style: {style}; src: url("{path.as_uri()}"); }}'
        )
    return "\n".join(rules)
