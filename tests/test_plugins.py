import subprocess
import sys
from importlib.metadata import EntryPoint

import pytest

from syncd import hookimpl
from syncd import plugins as plugin_module
from syncd.errors import PluginLoadError
from syncd.plugins import load_plugins

from .conftest import REPO
from .plugin_fixtures import FakePlugin, FakeSource, FakeTarget


def test_builtin_plugins_come_from_entry_points():
    host = load_plugins()
    assert "amazon" in host.plugins
    assert host.plugins["amazon"].distribution == "syncd"
    assert "amazon" in host.registry.config_models


def test_register_hooks_collect_classes_with_their_origin():
    host = load_plugins(only=[], extra=[("fake", FakePlugin())])
    reg = host.registry
    assert reg.sources == {"fake-source": FakeSource}
    assert reg.targets == {"fake-target": FakeTarget}
    assert reg.capabilities("fake") == ["config", "source", "target"]


def test_only_loads_the_named_plugins():
    assert load_plugins(only=[]).plugins == {}


def test_duplicate_registration_is_refused():
    with pytest.raises(PluginLoadError, match="already registered by 'fake'"):
        _ = load_plugins(only=[], extra=[("fake", FakePlugin()), ("fake2", FakePlugin())]).registry


def test_import_failure_names_plugin_and_distribution(monkeypatch):
    broken = EntryPoint(name="broken", value="syncd_does_not_exist.plugin",
                        group="syncd.plugins")
    monkeypatch.setattr(plugin_module, "discover", lambda: [broken])
    with pytest.raises(PluginLoadError) as err:
        load_plugins()
    assert "plugin 'broken'" in str(err.value)
    assert "ModuleNotFoundError" in str(err.value)


def test_no_import_time_side_effects():
    # importing the core registers nothing anywhere: a fresh interpreter proves it
    code = ("import syncd, syncd.plugins, syncd.hookspecs, syncd.cli; import sys; "
            "print(any(m.startswith('syncd_') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_core_never_names_a_plugin():
    offenders = [p for p in (REPO / "core").rglob("*.py")
                 if "syncd_amazon" in p.read_text(encoding="utf-8")]
    assert offenders == []


class RendererOnly:
    """A plugin with nothing to configure."""

    @hookimpl
    def register_renderers(self, register):
        class R:
            name = "r"

        register(R)


def test_activate_keeps_unconfigurable_plugins_and_enabled_connectors():
    host = load_plugins(only=[], extra=[("fake", FakePlugin()), ("r", RendererOnly())])
    host.activate(enabled=[])
    assert set(host.plugins) == {"r"}
    assert host.registry.sources == {} and "r" in host.registry.renderers

    host = load_plugins(only=[], extra=[("fake", FakePlugin()), ("r", RendererOnly())])
    host.activate(enabled=["fake"])
    assert set(host.registry.sources) == {"fake-source"}
