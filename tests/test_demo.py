"""`syncd demo` runs every registered DemoPart through the real engine (issue 8)."""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from syncd import hookimpl
from syncd.cli import cli
from syncd.cli.context import CliContext
from syncd.demo import DemoPart
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd.testing import seller_today
from syncd.testing.sink import DocumentSink


class SinkDemo(DemoPart):
    """The testing plugin's synthetic source into a real document-sink emulator."""

    name: ClassVar[str] = "sink"
    plugin: ClassVar[str] = "testing"
    reject: ClassVar[list[str]] = []
    started: ClassVar[list[str]] = []

    def start(self, folder: Path) -> dict[str, Any]:
        self.sink = DocumentSink().start()
        type(self).started.append(str(folder))
        return {"enabled": True, "count": 3, "sink_url": self.sink.url,
                "reject_keys": self.reject}

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        return [{"name": "to-sink", "source": "synthetic", "targets": ["sink", "noop"]}]

    def feed(self, importer) -> None:
        importer("to-sink", "export.csv", b"order;total\n1;11.90\n")
        importer("to-sink", "again.csv", b"order;total\n1;11.90\n")  # same bytes: one item

    def notes(self) -> list[str]:
        return [f"the sink received {len(self.sink.received())} document(s)"]

    def stop(self) -> None:
        self.sink.stop()


class OtherDemo(SinkDemo):
    name: ClassVar[str] = "other"

    def start(self, folder: Path) -> dict[str, Any]:
        raise AssertionError("--only must not start other parts")


class IdleDemo(SinkDemo):
    """A part whose flows need a plugin that is not in the demo."""

    name: ClassVar[str] = "idle"

    def start(self, folder: Path) -> dict[str, Any]:
        return {"enabled": True, "count": 0}

    def pipelines(self, plugins: Collection[str]) -> list[dict[str, Any]]:
        return [] if "lexoffice" not in plugins else [{"name": "x"}]

    def feed(self, importer) -> None:
        """Nothing to push."""

    def notes(self) -> list[str]:
        return []

    def stop(self) -> None:
        """Nothing started."""


class DemoPlugin:
    @hookimpl
    def register_demos(self, register):
        register(SinkDemo)
        register(OtherDemo)
        register(IdleDemo)


@pytest.fixture
def demo(tmp_path, syncd_plugin):
    def run(*args: str):
        context = CliContext(config_path=None)
        context.host = load_plugins(only=set(), extra=[syncd_plugin, ("demos", DemoPlugin())])
        return CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "d"), *args],
                                  obj=context)
    return run


def test_demo_runs_every_pipeline_and_prints_a_table_each(demo, tmp_path):
    SinkDemo.reject = []
    result = demo("--only", "sink")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "to-sink: synthetic → sink, noop (3 document(s))" in out
    header = next(line for line in out.splitlines() if "number" in line)
    assert "│ sink │ noop" in header.replace("┃", "│")
    assert f"INV-{seller_today().year}-000001" in out and "done" in out
    assert "the sink received 3 document(s)" in out
    assert f"Inspect with: syncd -c {tmp_path / 'd' / 'syncd.toml'} documents list" in out
    written = tomllib.loads((tmp_path / "d" / "syncd.toml").read_text("utf-8"))
    assert written["company"]["timezone"] == "Europe/Berlin"
    assert written["plugins"]["testing"]["count"] == 3
    assert [p["name"] for p in written["pipelines"]] == ["to-sink"]
    assert "export.csv: inbox item 1 for to-sink (20 bytes)" in out
    assert "again.csv: already in the inbox of to-sink as item 1" in out
    store = Store.open(f"sqlite:///{tmp_path / 'd' / 'syncd.db'}")
    try:
        (item,) = store.inbox_items("to-sink")
        assert item.filename == "export.csv" and item.actor == "syncd demo"
    finally:
        store.close()
    # a second run starts from an empty state
    again = demo("--only", "sink")
    assert again.exit_code == 0 and f"INV-{seller_today().year}-000001" in again.output
    assert f"INV-{seller_today().year}-000004" not in again.output
    assert "(3 document(s))" in again.output


def test_demo_exits_non_zero_when_a_delivery_ends_in_error(demo):
    SinkDemo.reject = ["doc-000001"]
    try:
        result = demo("--only", "sink")
    finally:
        SinkDemo.reject = []
    assert result.exit_code == 1
    assert "error" in result.output


def test_demo_only_names_a_part(demo):
    result = demo("--only", "nope")
    assert result.exit_code == 2
    assert "no demo part named nope (available: idle, other, sink)" in result.output


def test_a_part_without_pipelines_is_named(demo):
    result = demo("--only", "idle")
    assert result.exit_code == 0, result.output
    assert "idle: no pipeline with the plugins in this demo (testing)" in result.output


def test_demo_never_empties_a_folder_with_a_real_config(demo, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "syncd.toml").write_text("[plugins.amazon]\nenabled = true\n")
    (tmp_path / "d" / "syncd.db").write_bytes(b"precious")
    result = demo("--only", "sink")
    assert result.exit_code != 0
    assert "was not written by `syncd demo`" in str(result.exception)
    assert (tmp_path / "d" / "syncd.db").read_bytes() == b"precious"
