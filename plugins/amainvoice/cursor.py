"""The source position the engine stores: which (day, type) units are done, and `.tax`.

`through` is the last day whose `.inv` and `.rem` are both done; `done` lists finished units
after it (days finish out of order because they are fetched concurrently). The folder
transport instead remembers each file's size and modification time, so a changed file is read
again. The latest `.tax` answer (delivery-threshold countries and VAT numbers) lives here too:
it is the source's knowledge of the remote, small, and committed by the engine together with
the progress, so the connector keeps no state of its own (`syncd amainvoice thresholds`
reads it back from the state store).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from syncd_amainvoice.transport import KINDS

VERSION = 1


class Progress:
    def __init__(self, cursor: Mapping[str, Any] | None) -> None:
        cursor = cursor or {}
        through = cursor.get("through")
        self.through: date | None = date.fromisoformat(through) if through else None
        self.done: set[str] = set(cursor.get("done", []))
        self.files: dict[str, str] = dict(cursor.get("files", {}))
        self.tax: dict[str, Any] | None = cursor.get("tax")

    def is_done(self, day: date, kind: str) -> bool:
        if self.through is not None and day <= self.through:
            return True
        return f"{day.isoformat()}.{kind}" in self.done

    def mark(self, day: date, kind: str, first: date) -> None:
        """Record a finished unit; advance `through` over days that are complete."""
        if self.is_done(day, kind):
            return
        self.done.add(f"{day.isoformat()}.{kind}")
        cur = max(self.through + timedelta(days=1), first) if self.through else first
        while all(f"{cur.isoformat()}.{k}" in self.done for k in KINDS):
            for k in KINDS:
                self.done.discard(f"{cur.isoformat()}.{k}")
            self.through = cur
            cur += timedelta(days=1)

    def set_tax(self, day: date, data: Mapping[str, Any], source: str) -> None:
        self.tax = {"day": day.isoformat(), "fetched_at": datetime.now().astimezone()
                    .isoformat(timespec="seconds"), "from": source,
                    "countries": normalise_tax(data)}

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": VERSION}
        if self.through:
            out["through"] = self.through.isoformat()
        if self.done:
            out["done"] = sorted(self.done)
        if self.files:
            out["files"] = dict(sorted(self.files.items()))
        if self.tax is not None:
            out["tax"] = self.tax
        return out


def _since(raw: Any) -> str | None:
    text = str(raw or "").strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text[:10], fmt).date().isoformat()
        except ValueError:
            continue
    return text or None


def normalise_tax(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`thresholdCountries[]` and `closedThresholds[]` as one sorted list of plain entries."""
    out: list[dict[str, Any]] = []
    for group in ("thresholdCountries", "closedThresholds"):
        for item in data.get(group) or []:
            if not isinstance(item, Mapping):
                continue
            flag = item.get("isThresholdCountry")
            out.append({"list": group, "country": str(item.get("country") or "").upper(),
                        "vat_number": str(item.get("vatNumber") or "") or None,
                        "threshold_country": str(flag).lower() in ("true", "1", "yes"),
                        "since": _since(item.get("date"))})
    return sorted(out, key=lambda e: (e["list"], e["country"]))
