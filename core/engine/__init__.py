"""The sync engine: pipelines pull into the store and deliver from it, exactly once in effect.

See docs/engine.md for the guarantees and how they are kept.
"""

from __future__ import annotations

from syncd.engine.runner import CycleSummary, DeliveryStats, Engine, ReloadProgress, worker_id
from syncd.engine.runtime import build_connector, build_host, build_renderer

__all__ = ["CycleSummary", "DeliveryStats", "Engine", "ReloadProgress", "build_connector",
           "build_host", "build_renderer", "worker_id"]
