"""Connector construction: one place that turns config + plugins into Source/Target objects.

Tests inject in-process plugins through `extra` (see `syncd.testing`); everything else comes
from the installed `syncd.plugins` entry points: connector plugins only when enabled in the
config, plugins without a config section (renderers) always.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncd.config import Config, PipelineSettings
from syncd.config_checks import split_endpoint
from syncd.connectors import ConnectorContext, Source, Target
from syncd.context import Deliveries, Inbox
from syncd.errors import ConfigError
from syncd.http import HttpClients
from syncd.log import get_logger
from syncd.plugins import PluginHost, PluginInfo, check_api, load_plugins

if TYPE_CHECKING:
    from syncd.render.archive import RenderArchive


def build_host(config: Config, extra: Iterable[tuple[str, object]] = ()) -> PluginHost:
    """The enabled connector plugins, plugins without a config (renderers), in-process ones.

    `PluginHost.activate` drops connector plugins whose `[plugins.<name>]` is not enabled.
    """
    host = load_plugins()
    for name, obj in extra:
        if host.pm.is_registered(obj):  # an installed plugin also handed in-process: once
            continue
        check_api(name, "(in-process)", obj)
        host.pm.register(obj, name=name)
        host.plugins[name] = PluginInfo(name, "(in-process)", "",
                                        getattr(obj, "__name__", repr(obj)))
    host.pm.check_pending()
    return host.activate(config.enabled_plugins)


def build_renderer(config: Config, host: PluginHost, pipeline: PipelineSettings,
                   archive: RenderArchive | None = None) -> Any:
    """The "pdf" renderer with this pipeline's options, or None when no plugin offers one.

    With `archive` (the engine's store) each document is rendered once and every target gets
    the archived file (`syncd.render.archive`)."""
    cls = host.registry.renderers.get("pdf")
    if cls is None:
        return None
    from syncd.render import RenderOptions
    from syncd.render.archive import ArchivedRenderer

    settings = config.settings
    company = config.company()
    templates = settings.render.templates
    options = RenderOptions(
        language=pipeline.language or settings.render.language,
        einvoice=pipeline.einvoice,
        templates=(config.base_dir / templates).resolve() if templates else None,
        logo=company.logo if company else None,
        footer=settings.render.footer or (settings.company.footer if settings.company else None),
    )
    renderer = cls(options, company)
    return renderer if archive is None else ArchivedRenderer(renderer, archive)


def build_connector(
    config: Config, host: PluginHost, pipeline: PipelineSettings, kind: str, name: str,
    inbox: Inbox | None = None, archive: RenderArchive | None = None,
    deliveries: Deliveries | None = None,
) -> Source | Target:
    """Instantiate source or target `name` with its plugin's config and a fresh context.

    `name` is the endpoint as the pipeline writes it; `"lexoffice@shop-b"` gets the
    connection's config, its own data folder (`data/lexoffice@shop-b`) and that endpoint in
    its context.
    """
    registry = host.registry
    table = registry.sources if kind == "source" else registry.targets
    base, connection = split_endpoint(name)
    cls = table.get(base)
    if cls is None:
        raise ConfigError([f"pipelines.{pipeline.name}: no enabled plugin offers a {kind} "
                           f"named {base!r}"], str(config.path))
    owner, plugin_config = config.connector_config(name, kind)
    folder = owner if connection is None else f"{owner}@{connection}"
    data_dir = Path(config.base_dir) / "data" / folder
    data_dir.mkdir(parents=True, exist_ok=True)
    context = ConnectorContext(
        plugin=owner,
        data_dir=data_dir,
        base_dir=config.base_dir.resolve(),
        endpoint=name,
        pipeline=pipeline.name,
        company=config.company(),
        logger=get_logger(f"syncd.{owner}", pipeline=pipeline.name, connector=name),
        renderer=build_renderer(config, host, pipeline, archive),
        http=HttpClients(config.database_url),  # limiters shared per process / state db
        inbox=inbox,
        deliveries=deliveries,
    )
    return cls(plugin_config, context)
