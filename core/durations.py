"""Human durations as config values: "3s", "0.25s", "500ms", "90m", "12h", "2d"."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")


def parse_duration(text: str) -> timedelta:
    """Parse "1h30m"-style text; raise ValueError naming the text when it is not a duration."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration")
    pos, seconds = 0, 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"{text!r} is not a duration such as '30s', '15m', '12h' or '1d'")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    total = value.total_seconds()
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if total >= size and total % size == 0:
            return f"{int(total // size)}{unit}"
    return f"{total:g}s"


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


Duration = Annotated[
    timedelta, BeforeValidator(_coerce), PlainSerializer(format_duration, return_type=str)
]
"""A timedelta field that accepts "3s"-style text or seconds and prints back as text."""
