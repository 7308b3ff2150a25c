"""Plugin registration and the `syncd sandbox amazon` command."""

from __future__ import annotations

import subprocess
import sys

import httpx

from syncd.plugins import load_plugins
from syncd_amazon.sandbox import AmazonEmulator
from syncd_amazon.source import AmazonSource
from syncd_amazon.target import AmazonTarget


def test_plugin_registers_source_target_sandbox_and_config():
    registry = load_plugins(only={"amazon"}).registry
    assert registry.sources["amazon"] is AmazonSource
    assert registry.targets["amazon"] is AmazonTarget
    assert registry.sandboxes["amazon"] is AmazonEmulator
    assert registry.config_models["amazon"].__name__ == "AmazonConfig"
    assert AmazonEmulator.command.name == "amazon"


def test_sandbox_command_serves_until_stopped():
    code = ("import sys; from syncd_amazon.sandbox import command; "
            "sys.exit(command.main(['--speedup', '10'], standalone_mode=True))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # log lines come first
        first = next(line for line in lines if line.startswith("Amazon sandbox on"))
        assert first.startswith("Amazon sandbox on http://127.0.0.1:")
        url = first.split()[3]
        response = httpx.post(f"{url}/auth/o2/token", data={
            "grant_type": "refresh_token", "refresh_token": "Atzr|sandbox-refresh-token",
            "client_id": "sandbox-client-id", "client_secret": "sandbox-client-secret"})
        assert response.status_code == 200 and response.json()["expires_in"] == 3600
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_config_toml_is_a_valid_plugin_section_and_dates_can_be_fresh():
    import tomllib
    from datetime import UTC, datetime, timedelta

    from syncd_amazon.config import AmazonConfig
    from syncd_amazon.fixtures import DEMO_VIDR

    with AmazonEmulator([DEMO_VIDR], fresh_dates=True) as emu:
        section = tomllib.loads(emu.config_toml(upload_interval="0.1s"))["plugins"]["amazon"]
        config = AmazonConfig.model_validate(section)
        newest = max(g.shipment_date() for g in emu.state.groups.values())
    assert str(config.endpoint).startswith("http://127.0.0.1:")
    assert config.upload_interval == timedelta(seconds=0.1)
    assert len(config.marketplace_ids) == 4
    assert abs(datetime.now(UTC) - timedelta(hours=2) - newest) < timedelta(minutes=1)
