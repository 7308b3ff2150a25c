"""The example plugin's own tests, through syncd's pytest plugin (fixtures from syncd.testing).

Run them from this folder with `pytest` (syncd installed: its pytest plugin is registered by
its `pytest11` entry point, so `make_document` and `syncd_store` are simply there).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import syncd_example
from syncd import PLUGIN_API_VERSION
from syncd.config import load_config
from syncd.connectors import ConnectorContext, Rejected
from syncd.engine import Engine
from syncd.model import Document
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd_example import ExampleConfig, FolderTarget, JsonLinesSource

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
PLUGIN = ("example", syncd_example)


def test_declares_the_plugin_api_of_this_syncd() -> None:
    assert syncd_example.SYNCD_PLUGIN_API == PLUGIN_API_VERSION


def test_target_finds_what_it_delivered(tmp_path: Path,
                                        make_document: Callable[..., Document]) -> None:
    config = ExampleConfig(enabled=True, outbox=Path("out"))
    target = FolderTarget(config, ConnectorContext(plugin="example", data_dir=tmp_path,
                                                   base_dir=tmp_path))
    document = make_document("k-1", net="12.50")
    assert target.find_existing(document) is None
    ref = target.deliver(document)
    assert Path(ref.ref) == tmp_path / "out" / "test_k-1.json"
    assert target.find_existing(document) == ref


def test_source_rejects_a_bad_line_and_keeps_its_cursor(tmp_path: Path) -> None:
    shutil.copy(SAMPLE / "documents.jsonl", tmp_path / "in.jsonl")
    source = JsonLinesSource(ExampleConfig(enabled=True, inbox=Path("in.jsonl")),
                             ConnectorContext(plugin="example", data_dir=tmp_path,
                                              base_dir=tmp_path))
    (batch,) = source.read(None)
    rejected = [i for i in batch.items if isinstance(i, Rejected)]
    assert batch.cursor == {"lines": 4} and len(batch.items) == 4
    assert len(rejected) == 1 and f"{tmp_path / 'in.jsonl'}:3:" in rejected[0].error
    assert next(iter(source.read(batch.cursor))).items == []


def test_sample_runs_through_the_engine_from_any_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("syncd.db*", "delivered"))
    monkeypatch.chdir(tmp_path)  # relative paths resolve against syncd.toml, not here
    config = load_config(folder / "syncd.toml", load_plugins(extra=[PLUGIN]).registry)
    store = Store.open(config.database_url)
    try:
        engine = Engine(config, store, extra_plugins=[PLUGIN])
        engine.run_cycle(config.pipeline("copy"))
        engine.close()
        delivered = sorted(p.name for p in (folder / "delivered").glob("*.json"))
        assert delivered == ["jsonl_order-1001.json", "jsonl_order-1002.json",
                             "jsonl_order-1003.json"]
        (bad,) = store.list_documents(state="error")
        assert "documents.jsonl:3" in str(bad["error"])
    finally:
        store.close()
    assert (folder / "syncd.db").exists() and not (tmp_path / "delivered").exists()
