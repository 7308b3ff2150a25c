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
    assert rows["example"]["plugin_api"] == 2
    assert "amazon" in rows


def test_plugins_list_shows_exactly_the_installed_entry_points(tmp_path):
    """Whether or not the example is installed into this environment (both are normal)."""
    from importlib.metadata import entry_points

    installed = {ep.name for ep in entry_points(group="syncd.plugins")}
    out = subprocess.run([sys.executable, "-m", "syncd", "plugins", "list", "--json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert {row["name"] for row in json.loads(out.stdout)} == installed
    assert ("example" in installed) == any(
        d.metadata["Name"] == "syncd-example-plugin" for d in __import__(
            "importlib.metadata").metadata.distributions())


def test_the_example_ships_tests_that_pass_with_syncds_pytest_plugin(tmp_path):
    """What a connector author runs: `pytest` in the package folder."""
    work = tmp_path / "example"
    shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns(
        "syncd.db*", "delivered", "__pycache__", "*.egg-info"))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=work, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "4 passed" in out.stdout


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
