"""What the emulator received, as JSON for tests in other processes.

`GET /_records` answers it, and `syncd sandbox amazon --records FILE` rewrites FILE (atomically)
after every request, so a test that runs syncd and the emulator as separate processes (the
fault-injection proof, a CI script) can check uploads, pacing and model findings. Bodies of
uploads are left out (sizes only); times are seconds on the emulator's monotonic clock.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any


def snapshot(emulator: Any) -> dict[str, Any]:
    """Every record of one emulator instance, JSON-serialisable."""
    state = emulator.state
    with state.lock:
        requests = [{"operation": r.operation, "method": r.method, "path": r.path,
                     "status": r.status, "at": r.at, "request_id": r.request_id}
                    for r in state.requests]
        feeds = [{"feed_id": f.feed_id, "feed_type": f.feed_type, "shipping_id": f.shipping_id,
                  "marketplace_ids": f.marketplace_ids, "options": f.options,
                  "errors": [list(e) for e in f.errors], "status": f.status,
                  "received_at": f.received_at} for f in state.feeds.values()]
        groups = [{"marketplace_id": g.marketplace_id, "shipping_id": g.shipping_id,
                   "transaction_type": g.transaction_type, "transaction_id": g.transaction_id,
                   "status": g.status, "description": g.description,
                   "accepted_uploads": len(g.uploads)} for g in state.groups.values()]
        violations = list(state.spec_violations)
        return {
            "now": time.monotonic(),
            "validation": {"official_models": emulator.specs.enabled,
                           "checks": emulator.specs.checks,
                           "checked": emulator.specs.checked,
                           "violations": violations,
                           "summary": emulator.specs.summary(len(violations))},
            "requests": requests,
            "feeds": feeds,
            "groups": groups,
            "createfeed_times": list(state.createfeed_times),
            "duplicate_uploads": list(state.duplicate_uploads),
            "tokens_issued": state.tokens_issued,
            "upload_interval": state.upload_interval,
        }


class RecordsFile:
    """Rewrites one JSON file with the emulator's records; a reader never sees half a file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(self, emulator: Any) -> None:
        data = json.dumps(snapshot(emulator), indent=1, default=str)
        with self._lock:
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(data, encoding="utf-8")
            tmp.replace(self.path)
