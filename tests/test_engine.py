"""The engine in-process against the document sink: retries, doubt, numbering, reload, resend."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest

from syncd.engine import Engine, build_connector
from syncd.engine.delivery import backoff
from syncd.store import Store
from syncd.testing import seller_today

FAST = {"backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 3}
SLOW_RETRY = {"backoff_base": "300ms", "backoff_max": "300ms"}


@pytest.fixture
def setup(make_syncd_config, document_sink, syncd_plugin):
    """make(plugin options, engine options) -> (engine, pipeline, store)."""
    made = []

    def make(engine=None, pipelines=None, **plugin):
        config = make_syncd_config(plugin={"sink_url": document_sink.url, **plugin},
                                   engine={**FAST, **(engine or {})}, pipelines=pipelines)
        store = Store.open(config.database_url)
        eng = Engine(config, store, extra_plugins=[syncd_plugin])
        made.append(eng)
        return eng, config.settings.pipelines[0], store

    yield make
    for eng in made:
        eng.close()
        eng.store.close()


def sink_numbers(sink):
    return sorted(e["number"] for e in sink.received())


def test_pipeline_delivers_each_document_once_with_gapless_numbers(setup, document_sink):
    engine, pipeline, store = setup(count=25, batch=7)
    summary = engine.run_cycle(pipeline)
    assert (summary.pulled.new, summary.delivery.delivered) == (25, 25)
    assert sink_numbers(document_sink) == [f"INV-{seller_today().year}-{i:06d}"
                                           for i in range(1, 26)]
    assert store.cursor("demo", "synthetic") == {"offset": 25}
    again = engine.run_cycle(pipeline)
    assert (again.pulled.new, again.delivery.delivered) == (0, 0)
    assert len(document_sink.received()) == 25
    assert store.counts() == {"demo": {"done": 25}}


def test_rate_limit_waits_at_least_retry_after(setup, document_sink):
    engine, pipeline, store = setup(count=1)
    document_sink.set_faults(1.0, ["429"], retry_after=0.3)
    engine.run_cycle(pipeline)
    (row,) = store.list_documents()
    detail = store.document_detail(row["id"])["deliveries"][0]
    assert detail["state"] == "waiting" and detail["error_code"] == "429"
    assert not detail["in_doubt"]  # a 429 was never processed: no lookup needed
    finished = datetime.fromisoformat(detail["attempt_history"][0]["finished_at"])
    wait = store.next_due("demo") - finished
    assert wait >= timedelta(seconds=0.3)
    document_sink.set_faults(0.0)
    assert engine.deliver(pipeline)[0].delivered == 0  # not due yet
    time.sleep(0.35)
    assert engine.deliver(pipeline)[0].delivered == 1


def test_error_after_sending_is_looked_up_not_resent(setup, document_sink):
    # a backoff long enough that the first cycle cannot retry while the faults are on
    engine, pipeline, store = setup(count=3, engine=SLOW_RETRY)
    document_sink.set_faults(1.0, ["500-after"])
    stats = engine.run_cycle(pipeline).delivery
    assert stats.retrying == 3
    document_sink.set_faults(0.0)
    time.sleep(0.7)
    stats, _ = engine.deliver(pipeline)
    assert (stats.found, stats.delivered) == (3, 0)
    received = document_sink.received()
    assert len(received) == 3 and not any(e["duplicate"] for e in received)
    history = store.document_detail(1)["deliveries"][0]["attempt_history"]
    assert [(a["action"], a["outcome"]) for a in history] == [("deliver", "transient"),
                                                              ("lookup", "found")]


def test_timeout_after_sending_is_looked_up(setup, document_sink):
    engine, pipeline, _store = setup(count=1, timeout=0.2, engine=SLOW_RETRY)
    document_sink.set_faults(1.0, ["slow"], delay=0.5)
    assert engine.run_cycle(pipeline).delivery.retrying == 1
    document_sink.set_faults(0.0)
    time.sleep(0.7)
    assert engine.deliver(pipeline)[0].found == 1
    assert len(document_sink.received()) == 1


def test_permanent_error_stops_at_once_with_the_remote_message(setup, document_sink):
    engine, pipeline, store = setup(count=1)
    document_sink.set_faults(1.0, ["400"])
    assert engine.run_cycle(pipeline).delivery.failed == 1
    (row,) = store.list_documents(state="error")
    assert "invalid VAT id" in row["error"]
    detail = store.document_detail(row["id"])["deliveries"][0]
    assert detail["attempts"] == 1 and detail["error_class"] == "PermanentError"


def test_transient_errors_give_up_after_max_attempts_and_reset_retries(setup, document_sink):
    engine, pipeline, store = setup(count=1)
    document_sink.set_faults(1.0, ["500"])
    for _ in range(3):
        engine.run_cycle(pipeline)
        time.sleep(0.1)
    (row,) = store.list_documents(state="error")
    assert row["error"].startswith("gave up after 3 attempts")
    number = store.document_detail(row["id"])["number"]
    document_sink.set_faults(0.0)
    store.reset([row["id"]], "ops")
    assert engine.deliver(pipeline)[0].delivered == 1
    assert [e["number"] for e in document_sink.received()] == [number]  # number kept


def test_backoff_grows_and_honours_retry_after(make_syncd_config, document_sink):
    settings = make_syncd_config(plugin={"sink_url": document_sink.url},
                                 engine={"backoff_base": "1s", "backoff_max": "1h"}
                                 ).settings.engine
    assert timedelta(seconds=1) <= backoff(settings, 1, None) <= timedelta(seconds=2)
    assert timedelta(seconds=8) <= backoff(settings, 4, None) <= timedelta(seconds=9)
    assert backoff(settings, 1, 120) == timedelta(seconds=120)


def test_verdict_moves_delivered_document_to_error(setup, document_sink):
    engine, pipeline, store = setup(count=2, verdict_reject_keys=["doc-000001"])
    engine.run_cycle(pipeline)
    assert store.list_documents(state="error").items == []
    engine.run_cycle(pipeline)  # the verdicts come with the pull after the delivery
    (row,) = store.list_documents(state="error")
    assert row["source_key"] == "doc-000001" and row["error"] == "test: remote rejected"


def test_disabled_pipeline_pulls_nothing_then_resumes_from_cursor(
        make_syncd_config, document_sink, syncd_plugin):
    pipe = {"name": "demo", "source": "synthetic", "targets": ["sink"]}
    config = make_syncd_config(plugin={"sink_url": document_sink.url, "count": 5})
    store = Store.open(config.database_url)
    Engine(config, store, extra_plugins=[syncd_plugin]).run_cycle(config.settings.pipelines[0])
    off = make_syncd_config(plugin={"sink_url": document_sink.url, "count": 9},
                            pipelines=[{**pipe, "enabled": False}])
    engine = Engine(off, store, extra_plugins=[syncd_plugin])
    assert engine.pipelines() == []
    assert engine.run_cycle(off.settings.pipelines[0]).pulled.new == 0
    on = make_syncd_config(plugin={"sink_url": document_sink.url, "count": 9})
    summary = Engine(on, store, extra_plugins=[syncd_plugin]).run_cycle(on.settings.pipelines[0])
    assert summary.pulled.new == 4 and summary.pulled.unchanged == 0
    assert len(document_sink.received()) == 9
    store.close()


class StopAfter:
    """Reload progress that requests a stop after `n` windows (an operator's Ctrl-C)."""

    def __init__(self, engine, n):
        self.engine, self.n, self.seen, self.docs = engine, n, 0, 0

    def start(self, windows, done):
        self.total, self.done = windows, done

    def window(self, window):
        self.seen += 1
        if self.seen >= self.n:
            self.engine.stop.set()

    def documents(self, count):
        self.docs += count


def test_reload_is_windowed_resumable_and_never_redelivers(setup, document_sink):
    engine, pipeline, _store = setup(count=20, days=10, max_window_days=3)
    engine.run_cycle(pipeline)
    assert len(document_sink.received()) == 20
    first = StopAfter(engine, 2)
    stats, complete = engine.reload(pipeline, date(2026, 1, 1), date(2026, 1, 10), "ops",
                                    first)
    assert not complete and first.total == 4 and first.seen == 2
    engine.stop.clear()
    second = StopAfter(engine, 99)
    stats, complete = engine.reload(pipeline, date(2026, 1, 1), date(2026, 1, 10), "ops",
                                    second)
    assert complete and second.done == 2 and second.seen == 2
    assert stats.new == 0 and stats.unchanged == 8  # days 7-10: 4 days x 2 documents
    assert len(document_sink.received()) == 20


def test_reload_fetches_what_the_cursor_skipped(setup, document_sink):
    engine, pipeline, store = setup(count=6, days=6)
    store.ingest("demo", "synthetic", ["sink"], [], {"offset": 6})  # cursor already at the end
    stats, complete = engine.reload(pipeline, date(2026, 1, 2), date(2026, 1, 3), "ops")
    assert complete and stats.new == 2
    assert sorted(e["identity"] for e in document_sink.received()) == [
        "synthetic:doc-000001", "synthetic:doc-000002"]


def test_resend_refuses_while_remote_has_it_then_sends(setup, document_sink):
    engine, pipeline, store = setup(count=1)
    engine.run_cycle(pipeline)
    ((ok, message),) = engine.resend([1], "ops")
    assert not ok and "still has it" in message
    document_sink.remove("synthetic:doc-000000")
    ((ok, message),) = engine.resend([1], "ops")
    assert ok, message
    numbers = [e["number"] for e in document_sink.received()]
    assert len(numbers) == 2 and numbers[0] == numbers[1]
    kinds = [e["kind"] for e in store.events(document_id=1)]
    assert kinds.count("resend") == 2 and "delivered" in kinds


def test_rejected_source_items_wait_in_error_and_later_supersede(setup, document_sink):
    engine, pipeline, store = setup(count=3, reject_keys=["doc-000001"])
    engine.run_cycle(pipeline)
    (row,) = store.list_documents(state="error")
    assert row["source_key"] == "doc-000001"
    store.reset([row["id"]], "ops")
    fixed, fixed_pipeline, _ = setup(count=3)
    fixed.reload(fixed_pipeline, date(2026, 1, 1), date(2026, 1, 3), "ops")
    assert store.document_detail(row["id"])["state"] == "done"
    assert len(document_sink.received()) == 3


def test_connector_construction_passes_renderer_and_context(make_syncd_config, document_sink,
                                                            syncd_plugin, tmp_path):
    from syncd import hookimpl
    from syncd.plugins import load_plugins
    from syncd.render import Renderer

    class FakePdf(Renderer):
        name = "pdf"
        media_type = "application/pdf"

        def render(self, document):
            return b"%PDF"

    class RendererPlugin:
        @hookimpl
        def register_renderers(self, register):
            register(FakePdf)

    config = make_syncd_config(plugin={"sink_url": document_sink.url},
                               pipelines=[{"name": "demo", "source": "synthetic",
                                           "targets": ["sink"], "language": "en",
                                           "einvoice": "zugferd"}])
    pipeline = config.settings.pipelines[0]
    plain = load_plugins(only=config.enabled_plugins, extra=[syncd_plugin])
    target = build_connector(config, plain, pipeline, "target", "sink")
    assert target.context.renderer is None
    assert target.context.data_dir == tmp_path / "data" / "testing"
    assert target.context.data_dir.is_dir()
    host = load_plugins(only=config.enabled_plugins,
                        extra=[syncd_plugin, ("fakepdf", RendererPlugin())])
    target = build_connector(config, host, pipeline, "target", "sink")
    options = target.context.renderer.options
    assert (options.language, options.einvoice) == ("en", "zugferd")
    target.close()


def test_a_crash_mid_batch_keeps_finished_outcomes_and_the_in_flight_lease(
        make_syncd_config, syncd_plugin, monkeypatch):
    from syncd.connectors import RemoteRef
    from syncd.testing.plugin import NoopTarget

    calls = []

    def deliver(self, document):
        calls.append(document.identity)
        if len(calls) == 3:
            raise RuntimeError("connector bug")
        return RemoteRef(f"ref-{len(calls)}")

    def classify(self, error):
        raise AssertionError("classify has a bug too")

    monkeypatch.setattr(NoopTarget, "deliver", deliver)
    monkeypatch.setattr(NoopTarget, "classify", classify)
    config = make_syncd_config(plugin={"count": 6}, pipelines=[
        {"name": "demo", "source": "synthetic", "targets": ["noop"]}])
    store = Store.open(config.database_url)
    engine = Engine(config, store, extra_plugins=[syncd_plugin], flush_every=100)
    pipeline = config.settings.pipelines[0]
    engine.pull(pipeline)
    with pytest.raises(AssertionError, match="classify has a bug"):
        engine.deliver(pipeline)
    assert store.counts() == {"demo": {"done": 2, "processing": 1, "waiting": 3}}
    assert store.release(engine.owner, in_doubt=True) == 1  # what the daemon does next
    (doubtful,) = [d for r in store.list_documents(state="waiting")
                   for d in store.document_detail(r["id"])["deliveries"] if d["in_doubt"]]
    assert doubtful["document_id"] == 3
    store.close()


def test_long_claims_renew_their_leases(make_syncd_config, syncd_plugin, monkeypatch):
    from syncd.connectors import RemoteRef
    from syncd.testing.plugin import NoopTarget

    config = make_syncd_config(plugin={"count": 2}, engine={"lease": "1s"}, pipelines=[
        {"name": "demo", "source": "synthetic", "targets": ["noop"]}])
    store = Store.open(config.database_url)
    engine = Engine(config, store, extra_plugins=[syncd_plugin])
    rival = Engine(config, store, extra_plugins=[syncd_plugin], owner="rival")
    pipeline = config.settings.pipelines[0]
    engine.pull(pipeline)
    stolen = []

    def slow_deliver(self, document):
        time.sleep(1.4)  # one delivery outlasts the 1 s lease: the heartbeat renews it
        stolen.extend(rival.store.claim("demo", "rival", 10, timedelta(minutes=1),
                                        lambda d: None))
        return RemoteRef("ok")

    monkeypatch.setattr(NoopTarget, "deliver", slow_deliver)
    assert engine.deliver(pipeline)[0].delivered == 2
    assert stolen == []
    assert store.counts() == {"demo": {"done": 2}}
    store.close()


def test_engine_host_keeps_renderers_and_only_enabled_connector_plugins(make_syncd_config,
                                                                        document_sink,
                                                                        syncd_plugin):
    from syncd.engine import build_host
    from syncd.plugins import discover

    config = make_syncd_config(plugin={"sink_url": document_sink.url})
    host = build_host(config, [syncd_plugin])
    assert "testing" in host.plugins
    installed = {ep.name for ep in discover()}
    if "amazon" in installed:
        assert "amazon" not in host.plugins  # has a config section, not enabled
    if "render" in installed:
        assert "pdf" in host.registry.renderers
        target = build_connector(config, host, config.settings.pipelines[0], "target", "sink")
        assert target.context.renderer is not None
        target.close()


def test_the_store_knows_the_number_the_engine_gave(setup, document_sink):
    # connectors get linked documents' numbers through Job.links (tests/test_spine_links.py);
    # the store answers the same question for the CLI and the dashboard
    engine, pipeline, store = setup(count=2)
    engine.run_cycle(pipeline)
    year = seller_today().year
    assert store.number_of("synthetic", "doc-000001") == f"INV-{year}-000002"
    assert store.number_of("synthetic", "doc-999999") is None


def test_an_installed_plugin_passed_in_process_too_is_registered_once(make_syncd_config,
                                                                      document_sink,
                                                                      syncd_plugin):
    from syncd.engine import build_host
    from syncd.plugins import discover

    if "render" not in {ep.name for ep in discover()}:
        pytest.skip("the render plugin is not installed")
    from syncd.render import plugin as render_plugin

    config = make_syncd_config(plugin={"sink_url": document_sink.url})
    host = build_host(config, [syncd_plugin, ("render-pdf", render_plugin)])
    assert "pdf" in host.registry.renderers and "render-pdf" not in host.plugins


def test_unusable_credentials_stop_the_pipeline_without_failing_documents(
        setup, document_sink, monkeypatch):
    from syncd import daemon
    from syncd.errors import ConfigError

    engine, pipeline, store = setup(count=3)
    target = engine.target(pipeline, pipeline.targets[0])

    def revoked(document):
        raise ConfigError(["the refresh token was revoked; re-authorize the app"], "[plugins.x]")

    monkeypatch.setattr(target, "deliver", revoked)
    code = daemon.Daemon(engine).run_once()
    assert code == 1
    assert document_sink.received() == []
    assert store.counts() == {"demo": {"waiting": 3}}  # nothing marked failed one by one
    stopped = [e for e in store.events() if e["kind"] == "pipeline-stopped"]
    assert stopped and "re-authorize the app" in stopped[0]["message"]


def test_renderer_options_resolve_against_the_config_folder(make_syncd_config, tmp_path):
    from syncd.engine import build_renderer
    from syncd.plugins import load_plugins

    config = make_syncd_config(plugin={"sink_url": "http://127.0.0.1:9"})
    settings = config.settings.model_copy(update={
        "render": config.settings.render.model_copy(update={"templates": "tpl"})})
    config.settings = settings
    renderer = build_renderer(config, load_plugins(), config.settings.pipelines[0])
    assert renderer.options.templates == (config.base_dir / "tpl").resolve()
