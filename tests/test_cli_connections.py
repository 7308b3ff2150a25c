"""Two accounts of one system in one run: named connections through the real engine (#8: 11)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from syncd.cli import cli
from syncd.cli.context import CliContext
from syncd.plugins import load_plugins
from syncd.testing.sink import DocumentSink


def test_one_pipeline_delivers_to_two_connections_of_one_plugin(tmp_path, syncd_plugin):
    with DocumentSink() as shop_a, DocumentSink() as shop_b:
        path = tmp_path / "syncd.toml"
        path.write_text(f"""
[plugins.testing]
enabled = true
count = 3
sink_url = "{shop_a.url}"

[plugins.testing.connections.shop-b]
sink_url = "{shop_b.url}"

[[pipelines]]
name = "both"
source = "synthetic"
targets = ["sink", "sink@shop-b"]
""")

        def invoke(*args):
            context = CliContext(config_path=None)
            context.host = load_plugins(only=set(), extra=[syncd_plugin])
            return CliRunner().invoke(cli, [*args, "-c", str(path)], obj=context)

        result = invoke("run", "--once")
        assert result.exit_code == 0, result.output
        assert len(shop_a.stored()) == 3 and len(shop_b.stored()) == 3
        rows = json.loads(invoke("documents", "list", "--json").output)
        assert all(r["targets"] == {"sink": "done", "sink@shop-b": "done"} for r in rows)
        assert (tmp_path / "data" / "testing@shop-b").is_dir()
        status = json.loads(invoke("status", "--json").output)
        assert status["pipelines"][0]["targets"] == ["sink", "sink@shop-b"]
        shown = invoke("config", "show", "--json").output
        assert json.loads(shown)["plugins"]["testing"]["connections"]["shop-b"]["sink_url"] == (
            shop_b.url)
