"""Builds plugin managers from the `syncd.plugins` entry points. Nothing happens at import time.

The core never imports a plugin by name: built-in plugins are entry points of the `syncd`
distribution, exactly as a third-party package would declare them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from syncd import PLUGIN_API_VERSION, __version__, hookspecs
from syncd.errors import PluginLoadError

ENTRY_POINT_GROUP = "syncd.plugins"


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    module: str
    api: int | None = None
    """The `SYNCD_PLUGIN_API` the plugin declares (None: it declares none)."""


@dataclass
class Registry:
    """What the enabled plugins registered, by name, with the plugin that registered each."""

    config_models: dict[str, type] = field(default_factory=dict)
    sources: dict[str, type] = field(default_factory=dict)
    targets: dict[str, type] = field(default_factory=dict)
    renderers: dict[str, type] = field(default_factory=dict)
    sandboxes: dict[str, Any] = field(default_factory=dict)
    demos: dict[str, type] = field(default_factory=dict)
    origin: dict[tuple[str, str], str] = field(default_factory=dict)

    def capabilities(self, plugin: str) -> list[str]:
        return sorted({kind for (kind, _name), owner in self.origin.items() if owner == plugin})


@dataclass
class PluginHost:
    """A plugin manager plus what it loaded; build it with `load_plugins()`."""

    pm: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    _registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = collect(self.pm)
        return self._registry

    def activate(self, enabled: Collection[str]) -> PluginHost:
        """Deactivate plugins that have a config section but are not enabled in it.

        Plugins without a config model (renderers, for instance) have nothing to enable and
        stay active; connector plugins take part only when `[plugins.<name>] enabled = true`.
        """
        configured = {self.registry.origin[("config", name)] for name in
                      self.registry.config_models}
        for name in configured - set(enabled):
            if self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
                self.plugins.pop(name, None)
        self._registry = None
        return self


def _distribution_of(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"], dist.version


class IncompatiblePlugin(Exception):
    """A plugin written for another version of the connector contract."""


def check_api(name: str, distribution: str, plugin: object) -> None:
    """Refuse a plugin whose `SYNCD_PLUGIN_API` is not this syncd's `PLUGIN_API_VERSION`."""
    declared = getattr(plugin, "SYNCD_PLUGIN_API", None)
    if declared is None or declared == PLUGIN_API_VERSION:
        return
    if not isinstance(declared, int) or isinstance(declared, bool):
        why = f"SYNCD_PLUGIN_API must be an integer such as {PLUGIN_API_VERSION}, not {declared!r}"
    elif declared > PLUGIN_API_VERSION:
        why = (f"it needs plugin API {declared}, but syncd {__version__} offers "
               f"{PLUGIN_API_VERSION}: upgrade syncd, or install an older {distribution}")
    else:
        why = (f"it was written for plugin API {declared}, but syncd {__version__} offers "
               f"{PLUGIN_API_VERSION} (see docs/plugins.md): upgrade {distribution}, or "
               "uninstall it")
    raise PluginLoadError(name, distribution, IncompatiblePlugin(why))


def discover() -> list[EntryPoint]:
    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def load_plugins(
    only: Collection[str] | None = None,
    extra: Iterable[tuple[str, object]] = (),
) -> PluginHost:
    """A fresh plugin manager with the installed plugins (or just those named in `only`).

    `extra` registers in-process plugin objects, e.g. from tests, under the given names.
    """
    pm = pluggy.PluginManager("syncd")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for ep in discover():
        if only is not None and ep.name not in only:
            continue
        distribution, version = _distribution_of(ep)
        try:
            module = ep.load()
        except Exception as exc:  # any import failure: name the plugin instead of a traceback
            raise PluginLoadError(ep.name, distribution, exc) from exc
        check_api(ep.name, distribution, module)
        try:
            pm.register(module, name=ep.name)
        except Exception as exc:
            raise PluginLoadError(ep.name, distribution, exc) from exc
        infos[ep.name] = PluginInfo(ep.name, distribution, version, ep.value,
                                    getattr(module, "SYNCD_PLUGIN_API", None))
    for name, obj in extra:
        if pm.is_registered(obj):  # already loaded through its entry point
            continue
        check_api(name, "(in-process)", obj)
        pm.register(obj, name=name)
        infos[name] = PluginInfo(name, "(in-process)", "", getattr(obj, "__name__", repr(obj)),
                                 getattr(obj, "SYNCD_PLUGIN_API", None))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginLoadError(getattr(exc, "plugin_name", "?"), "?", exc) from exc
    return PluginHost(pm=pm, plugins=infos)


def _call_per_plugin(pm: pluggy.PluginManager, hook_name: str, make: Callable) -> None:
    """Call one hook on each plugin in turn, so registrations know which plugin made them."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        kwargs = {arg: make(impl.plugin_name) for arg in impl.argnames}
        try:
            impl.function(**kwargs)
        except PluginLoadError:
            raise
        except Exception as exc:
            raise PluginLoadError(impl.plugin_name, "?", exc) from exc


def collect(pm: pluggy.PluginManager) -> Registry:
    """Run the register_* hooks and gather what they register, refusing duplicate names."""
    reg = Registry()

    def adder(kind: str, table: dict[str, Any], plugin: str) -> Callable[..., None]:
        def add(*args: Any) -> None:
            if len(args) == 2:
                name, obj = args
            else:
                (obj,) = args
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginLoadError(
                        plugin, "?", TypeError(f"{obj!r} has no `name`; register(name, obj)")
                    )
            if name in table:
                raise PluginLoadError(
                    plugin,
                    "?",
                    ValueError(f"{kind} {name!r} is already registered by "
                               f"{reg.origin[(kind, name)]!r}"),
                )
            table[name] = obj
            reg.origin[(kind, name)] = plugin

        return add

    for hook_name, kind, table in (
        ("register_config_models", "config", reg.config_models),
        ("register_sources", "source", reg.sources),
        ("register_targets", "target", reg.targets),
        ("register_renderers", "renderer", reg.renderers),
        ("register_sandboxes", "sandbox", reg.sandboxes),
        ("register_demos", "demo", reg.demos),
    ):
        _call_per_plugin(pm, hook_name, lambda plugin, k=kind, t=table: adder(k, t, plugin))
    return reg
