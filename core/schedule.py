"""Pipeline schedules: an interval ("12h") or a five-field cron expression ("0 */12 * * *")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from croniter import croniter

from syncd.durations import parse_duration


@dataclass(frozen=True)
class Schedule:
    text: str
    interval: timedelta | None = None

    @classmethod
    def parse(cls, text: str) -> Schedule:
        text = text.strip()
        if croniter.is_valid(text) and len(text.split()) >= 5:
            return cls(text=text)
        try:
            interval = parse_duration(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is neither an interval such as '12h' nor a cron expression "
                "such as '0 */12 * * *'"
            ) from None
        if interval <= timedelta(0):
            raise ValueError(f"{text!r}: the interval must be positive")
        return cls(text=text, interval=interval)

    def next_after(self, moment: datetime) -> datetime:
        """The next run strictly after `moment` (aware datetimes in, aware out)."""
        if self.interval is not None:
            return moment + self.interval
        return croniter(self.text, moment).get_next(datetime)
