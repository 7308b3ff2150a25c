"""The compact invoice font: made once, much smaller, covering the five languages."""

from __future__ import annotations

import pytest
from fontTools.ttLib import TTFont

from syncd.render.fonts import FAMILY, compact_font, find_font, font_faces


def test_compact_font_is_cached_small_and_covers_european_latin(tmp_path):
    source = find_font("Book")
    if source is None:
        print("SKIP: DejaVu Sans is not installed (fonts-dejavu-core)")
        pytest.skip("DejaVu Sans is not installed")
    first = compact_font(source, tmp_path)
    assert compact_font(source, tmp_path) == first  # cached by source identity
    assert first.stat().st_size < source.stat().st_size / 5
    cmap = TTFont(str(first)).getBestCmap()
    for char in "äöüßÄÖÜéèêçàùâîôœñ¡¿ìòł€£·–„“”\u00a0\u202f":
        assert ord(char) in cmap, char
    assert f'font-family: "{FAMILY}"' in font_faces()
