"""The overview's 30-day chart as plain geometry; the template draws it as inline SVG.

No chart library and no JavaScript: stacked bars per day, one colour per state.
"""

from __future__ import annotations

from datetime import date
from typing import Any

ORDER = ("done", "manual", "waiting", "processing", "error")
WIDTH, HEIGHT, GAP = 600, 160, 2


def day_chart(days: dict[date, dict[str, int]]) -> dict[str, Any]:
    """Bars (x, width, segments of y/height/state/count) scaled to the busiest day."""
    peak = max((sum(v.values()) for v in days.values()), default=0) or 1
    slot = WIDTH / max(len(days), 1)
    bars = []
    for i, (day, counts) in enumerate(sorted(days.items())):
        y = float(HEIGHT)
        segments = []
        for state in ORDER:
            n = counts.get(state, 0)
            if not n:
                continue
            h = n / peak * HEIGHT
            y -= h
            segments.append({"state": state, "y": round(y, 1), "height": round(h, 1),
                             "count": n})
        bars.append({"day": day, "x": round(i * slot, 1), "width": round(slot - GAP, 1),
                     "segments": segments, "total": sum(counts.values())})
    return {"bars": bars, "width": WIDTH, "height": HEIGHT, "peak": peak, "states": ORDER}
