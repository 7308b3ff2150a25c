"""Garbage-collector settings for processes that move documents (`syncd run`, `reload`,
`demo`).

CPython's default collects its youngest generation every 700 net allocations. A delivery
allocates thousands of short-lived objects (rows, pydantic models, Decimals), so with the
default the collector runs every few documents and re-scans the long-lived heap of plugins,
SQLAlchemy and pydantic schemas: about a fifth of the engine's time in
`benchmarks/engine_bench.py`. Objects that exist once startup is done are frozen out of
collection, and the young generation is collected every 50,000 allocations. Reference
counting still frees almost everything at once; the collector only finds cycles, a little
later.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_collector() -> tuple[int, int, int]:
    """Freeze the startup heap and raise the thresholds; returns the previous thresholds.

    Called by the CLI commands that run the engine, never at import time.
    """
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    return previous
