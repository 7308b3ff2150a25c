"""`/metrics` in the Prometheus text format, computed from the state store at each scrape.

Read from the store rather than counted in this process, so the figures are right whichever
process (or worker on PostgreSQL) did the work, and survive restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from syncd.store import Store
from syncd.store.schema import attempts, deliveries, events

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreCollector(Collector):
    """Documents per pipeline and state, deliveries, errors, throttles, deadline warnings."""

    def __init__(self, store: Store, warnings: Callable[[], dict[str, list[str]]]) -> None:
        self.store = store
        self.warnings = warnings

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        docs = GaugeMetricFamily("syncd_deliveries", "Deliveries per pipeline, target and state",
                                 labels=["pipeline", "target", "state"])
        with self.store.engine.connect() as conn:
            for pipeline, target, state, n in conn.execute(
                    sa.select(deliveries.c.pipeline, deliveries.c.target, deliveries.c.state,
                              sa.func.count()).group_by(deliveries.c.pipeline,
                                                        deliveries.c.target,
                                                        deliveries.c.state)):
                docs.add_metric([pipeline, target, state], n)
            kinds = conn.execute(sa.select(events.c.pipeline, events.c.kind, sa.func.count())
                                 .where(events.c.kind.in_(("delivered", "error", "retry",
                                                           "found-existing", "resend")))
                                 .group_by(events.c.pipeline, events.c.kind)).all()
            throttled = conn.execute(
                sa.select(deliveries.c.pipeline, sa.func.count())
                .select_from(attempts.join(deliveries, deliveries.c.id == attempts.c.delivery_id))
                .where(attempts.c.error_code == "429").group_by(deliveries.c.pipeline)).all()
        yield docs
        per_state = GaugeMetricFamily("syncd_documents_rejected",
                                      "Documents the source sent in a form syncd refused",
                                      labels=["pipeline"])
        for pipeline, states in sorted(self.store.counts().items()):
            per_state.add_metric([pipeline or ""], states.get("rejected", 0))
        yield per_state
        outcome = CounterMetricFamily("syncd_delivery_events",
                                      "Delivery outcomes recorded in the event log",
                                      labels=["pipeline", "kind"])
        for pipeline, kind, n in kinds:
            outcome.add_metric([pipeline or "", kind], n)
        yield outcome
        throttle = CounterMetricFamily("syncd_throttled_attempts",
                                       "Attempts a remote answered with 429 Too Many Requests",
                                       labels=["pipeline"])
        for pipeline, n in throttled:
            throttle.add_metric([pipeline], n)
        yield throttle
        warn = GaugeMetricFamily("syncd_deadline_warnings",
                                 "Open deadline warnings (e.g. Amazon's 24-hour upload limit)",
                                 labels=["pipeline"])
        for pipeline, found in sorted(self.warnings().items()):
            warn.add_metric([pipeline], len(found))
        yield warn


def render(store: Store, warnings: Callable[[], dict[str, list[str]]]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, warnings))
    return generate_latest(registry)
