"""The collector tuning of document-moving processes: applied by the console command only."""

from __future__ import annotations

import subprocess
import sys

from syncd.cli import run as cli_run
from syncd.cli.context import CliContext
from syncd.engine.memory import THRESHOLDS


def test_tune_collector_freezes_the_startup_heap_and_raises_the_thresholds():
    code = ("import gc; from syncd.engine.memory import tune_collector; "
            "before = gc.get_threshold(); previous = tune_collector(); "
            "print(previous == before, gc.get_threshold(), gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(maxsplit=1)
    assert out[0] == "True"
    assert out[1].strip() == f"{THRESHOLDS} True"


def test_only_the_console_process_tunes_the_collector(monkeypatch, tmp_path):
    calls: list[int] = []
    monkeypatch.setattr(cli_run, "tune_collector", lambda: calls.append(1))
    monkeypatch.setattr(cli_run, "Engine", lambda *a, **k: object())
    for own, expected in ((False, []), (True, [1])):
        calls.clear()
        obj = CliContext(config_path=None, own_process=own)
        obj.host = type("Host", (), {"activate": lambda self, enabled: None})()
        cli_run.make_engine(obj, type("C", (), {"enabled_plugins": []})(), None)
        assert calls == expected
