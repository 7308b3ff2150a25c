"""Spine v2 inbox and pipeline control: pushed files stored once, read by the source after its
cursor; pause / resume / run now live in the store and a running daemon honours them."""

from __future__ import annotations

import threading
import time

from syncd.daemon import Daemon

from .spine_support import run_cli, spine

__all__ = ["spine"]


def test_the_same_file_twice_is_one_item_per_pipeline(syncd_store):
    first, created = syncd_store.inbox_add("a", "orders.csv", b"id;total\n1;10.00\n", "op")
    again, created_again = syncd_store.inbox_add("a", "copy.csv", b"id;total\n1;10.00\n", "op")
    other, created_other = syncd_store.inbox_add("b", "orders.csv", b"id;total\n1;10.00\n", "op")
    assert (created, created_again, created_other) == (True, False, True)
    assert again.id == first.id and other.id != first.id
    assert (first.filename, first.media_type, first.size) == ("orders.csv", "text/csv", 17)


def test_sources_read_the_inbox_after_their_cursor(spine):
    engine, config, store = spine(count=0)
    pipeline = config.settings.pipelines[0]
    inbox = engine.source(pipeline).context.inbox
    assert inbox is not None
    ids = [store.inbox_add("demo", f"f{i}.pdf", bytes([i]) * 10, "op")[0].id for i in range(3)]
    assert [i.id for i in inbox.items()] == ids
    (last,) = inbox.items(after=ids[1])
    assert inbox.read(last) == bytes([2]) * 10
    store.inbox_add("other", "x.pdf", b"x", "op")
    assert len(list(inbox.items())) == 3


def test_import_command_stores_files_and_says_what_happened(spine, tmp_path):
    _engine, config, store = spine(count=0)
    upload = tmp_path / "upload.csv"
    upload.write_bytes(b"a;b\n")
    result = run_cli(config.path, "import", "demo", str(upload), str(upload), "--actor", "eve")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "inbox item 1 for demo" in lines[0] and "already in the inbox" in lines[1]
    (item,) = store.inbox_items("demo")
    assert item.actor == "eve"
    missing = run_cli(config.path, "import", "nope", str(upload))
    assert missing.exit_code != 0 and "no pipeline named 'nope'" in str(missing.exception)


def test_pause_stops_pulls_and_deliveries_and_resume_continues(spine, document_sink):
    engine, config, store = spine(count=4, batch=2)
    pipeline = config.settings.pipelines[0]
    assert run_cli(config.path, "pipelines", "pause", "demo").exit_code == 0
    summary = engine.run_cycle(pipeline)
    assert summary.paused and summary.pulled.new == 0 and document_sink.received() == []
    engine.pull(pipeline)
    assert store.cursor("demo", "synthetic") is None  # paused: nothing was read
    assert run_cli(config.path, "pipelines", "resume", "demo").exit_code == 0
    assert engine.run_cycle(pipeline).delivery.delivered == 4
    assert store.counts() == {"demo": {"done": 4}}


def test_a_running_daemon_honours_pause_and_run_now_within_seconds(spine, document_sink):
    engine, config, store = spine(count=2, pipelines=[
        {"name": "demo", "source": "synthetic", "targets": ["sink"], "schedule": "12h"}])
    daemon = Daemon(engine, poll=30, control_poll=0.1)
    thread = threading.Thread(target=daemon.run_forever, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(document_sink.received()) == 2)
        store.pause("demo", "op")
        wait_for(lambda: "demo" in daemon.paused)
        source = engine.source(config.settings.pipelines[0])
        source.config = source.config.model_copy(update={"count": 3})
        store.request_run("demo", "op")  # paused: the request waits
        time.sleep(0.5)
        assert len(document_sink.received()) == 2
        store.resume("demo", "op")
        wait_for(lambda: len(document_sink.received()) == 3)  # run now, not in 12 hours
    finally:
        engine.stop.set()
        thread.join(10)
    assert not thread.is_alive()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
