"""The Xentral demo part and `syncd sandbox xentral` are wired in through the plugin hooks."""

from __future__ import annotations

from click.testing import CliRunner

from syncd.plugins import load_plugins
from syncd_xentral.config import XentralConfig
from syncd_xentral.demo import XentralDemo
from syncd_xentral.sandbox import XentralEmulator


def test_plugin_registers_target_sandbox_demo_and_config():
    registry = load_plugins().registry
    assert registry.sandboxes["xentral"] is XentralEmulator
    assert registry.demos["xentral"] is XentralDemo
    assert registry.targets["xentral"].__name__ == "XentralTarget"
    assert registry.config_models["xentral"] is XentralConfig


def test_demo_part_starts_an_emulator_and_returns_a_valid_table(tmp_path):
    part = XentralDemo()
    table = part.start(tmp_path)
    try:
        config = XentralConfig.model_validate(table)
        assert config.enabled and config.create_missing_products and config.create_orders
        assert str(config.base_url).startswith("http://127.0.0.1:")
        assert part.pipelines({"xentral", "amazon"}) == []  # sources add the pipelines
        assert "no pipeline of this demo delivers" in part.notes()[0]
    finally:
        part.stop()
    assert part.notes() == []


def test_sandbox_command_help_names_the_options():
    result = CliRunner().invoke(XentralEmulator.command, ["--help"])
    assert result.exit_code == 0 and "--limit" in result.output and "--product" in result.output
