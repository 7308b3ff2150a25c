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


def _api_plugin(version):
    class Plugin:
        SYNCD_PLUGIN_API = version

        @hookimpl
        def register_sources(self, register):
            register(FakeSource)

    return Plugin()


def test_plugin_api_version_is_checked():
    from syncd import PLUGIN_API_VERSION

    host = load_plugins(only=[], extra=[("ok", _api_plugin(PLUGIN_API_VERSION))])
    assert "ok" in host.plugins
    with pytest.raises(PluginLoadError, match=rf"needs plugin API {PLUGIN_API_VERSION + 1}, "
                       rf"but syncd .* offers {PLUGIN_API_VERSION}: upgrade syncd"):
        load_plugins(only=[], extra=[("new", _api_plugin(PLUGIN_API_VERSION + 1))])
    with pytest.raises(PluginLoadError, match=r"written for plugin API 1.*upgrade \(in-process\)"):
        load_plugins(only=[], extra=[("old", _api_plugin(1))])
    with pytest.raises(PluginLoadError, match="must be an integer"):
        load_plugins(only=[], extra=[("odd", _api_plugin("2"))])


def test_installed_plugin_with_another_api_is_refused_with_its_distribution(monkeypatch):
    import types

    module = types.ModuleType("syncd_future_plugin")
    module.SYNCD_PLUGIN_API = 99
    monkeypatch.setitem(sys.modules, "syncd_future_plugin", module)
    future = EntryPoint(name="future", value="syncd_future_plugin", group="syncd.plugins")
    monkeypatch.setattr(plugin_module, "discover", lambda: [future])
    with pytest.raises(PluginLoadError) as err:
        load_plugins()
    assert "plugin 'future'" in str(err.value) and "needs plugin API 99" in str(err.value)
