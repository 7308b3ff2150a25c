"""`/metrics` in the Prometheus text format, from the state store.

Read from the store rather than counted in this process, so the figures are right whichever
process (or worker on PostgreSQL) did the work, and survive restarts; `syncd.web.stats`
keeps a scrape from counting the whole deliveries table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from syncd.web.stats import Aggregates

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreCollector(Collector):
    """Deliveries per pipeline, target and state, rejected documents, delivery outcomes,
    throttles, deadline warnings, all from one snapshot at most `Aggregates.ttl` seconds
    old (see `syncd.web.stats`)."""

    def __init__(self, aggregates: Aggregates,
                 warnings: Callable[[], dict[str, list[str]]]) -> None:
        self.aggregates = aggregates
        self.warnings = warnings

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snapshot = self.aggregates.snapshot()
        docs = GaugeMetricFamily("syncd_deliveries", "Deliveries per pipeline, target and state",
                                 labels=["pipeline", "target", "state"])
        for (pipeline, target, state), n in sorted(snapshot.deliveries.items()):
            docs.add_metric([pipeline, target, state], n)
        yield docs
        per_state = GaugeMetricFamily("syncd_documents_rejected",
                                      "Documents the source sent in a form syncd refused",
                                      labels=["pipeline"])
        pipelines = {p for p, _t, _s in snapshot.deliveries} | {p for p, _s in snapshot.documents}
        for pipeline in sorted(pipelines):
            per_state.add_metric([pipeline or ""], snapshot.documents.get((pipeline, "rejected"),
                                                                          0))
        yield per_state
        outcome = CounterMetricFamily("syncd_delivery_events",
                                      "Delivery outcomes recorded in the event log",
                                      labels=["pipeline", "kind"])
        for pipeline, kind, n in snapshot.events:
            outcome.add_metric([pipeline or "", kind], n)
        yield outcome
        throttle = CounterMetricFamily("syncd_throttled_attempts",
                                       "Attempts a remote answered with 429 Too Many Requests",
                                       labels=["pipeline"])
        for pipeline, n in snapshot.throttled:
            throttle.add_metric([pipeline], n)
        yield throttle
        warn = GaugeMetricFamily("syncd_deadline_warnings",
                                 "Open deadline warnings (e.g. Amazon's 24-hour upload limit)",
                                 labels=["pipeline"])
        for pipeline, found in sorted(self.warnings().items()):
            warn.add_metric([pipeline], len(found))
        yield warn


def render(aggregates: Aggregates, warnings: Callable[[], dict[str, list[str]]]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(aggregates, warnings))
    return generate_latest(registry)
