"""The example connector package is what a third party would publish; prove syncd finds it."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from syncd.connectors import ConnectorContext, Rejected

from .conftest import REPO
from .test_model import doc

EXAMPLE = REPO / "examples" / "syncd-example-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """pip-installs the example into a throwaway target folder (no network: no build isolation)."""
    work = tmp_path_factory.mktemp("example")
    shutil.copytree(EXAMPLE, work / "src")
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(work / "src")],
        check=True, capture_output=True, text=True, timeout=300,
    )
    return target


def test_plugins_list_discovers_the_example(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(installed)}
    out = subprocess.run([sys.executable, "-m", "syncd", "plugins", "list", "--json"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = {row["name"]: row for row in json.loads(out.stdout)}
    assert rows["example"]["distribution"] == "syncd-example-plugin"
    assert rows["example"]["capabilities"] == ["config", "source", "target"]
    assert "amazon" in rows


def test_without_it_the_example_is_absent(tmp_path):
    out = subprocess.run([sys.executable, "-m", "syncd", "plugins", "list", "--json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "example" not in {row["name"] for row in json.loads(out.stdout)}


def test_example_source_and_target_round_trip(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    from syncd_example import ExampleConfig, FolderTarget, JsonLinesSource

    inbox = tmp_path / "in.jsonl"
    inbox.write_text(doc().model_dump_json() + "\n" + "{not json\n", encoding="utf-8")
    cfg = ExampleConfig(enabled=True, inbox=inbox, outbox=tmp_path / "out")
    ctx = ConnectorContext(plugin="example", data_dir=tmp_path)
    (batch,) = JsonLinesSource(cfg, ctx).read(None)
    good, bad = batch.items
    assert batch.cursor == {"lines": 2}
    assert isinstance(bad, Rejected) and f"{inbox}:2:" in bad.error
    assert next(iter(JsonLinesSource(cfg, ctx).read(batch.cursor))).items == []

    target = FolderTarget(cfg, ctx)
    assert target.find_existing(good) is None
    ref = target.deliver(good)
    assert target.find_existing(good) == ref
