"""Cross-checks of a config: plugin sections, connections, endpoints, options, the state URL.

A pipeline names an *endpoint*: a source or target name (`"lexoffice"`), optionally with a
named connection (`"lexoffice@shop-b"`), i.e. `[plugins.<plugin>.connections.<conn>]`, whose
keys override the plugin table's. Each connection is validated by the plugin's own model, and
per-target options (`[pipelines.options.<endpoint>]`) by the target's `options_model`. Every
problem is collected with its TOML path so that `syncd config check` prints them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from syncd.plugins import Registry

SUPPORTED_DATABASES = {"sqlite": "sqlite:///path/to/syncd.db",
                       "postgresql": "postgresql+psycopg://user@host/database"}
CONNECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ENDPOINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z0-9][A-Za-z0-9_.-]*)?$")


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_messages(error: ValidationError, prefix: str = "") -> list[str]:
    found = []
    for item in error.errors(include_url=False):
        path = _loc(tuple(item["loc"]))
        if prefix:
            path = prefix if path == "(top level)" else f"{prefix}.{path}"
        msg = item["msg"]
        msg = msg[0].lower() + msg[1:] if msg else msg
        if msg.startswith("value error, "):
            msg = msg[len("value error, "):]
        found.append(f"{path}: {msg}")
    return found


def split_endpoint(endpoint: str) -> tuple[str, str | None]:
    """`"lexoffice@shop-b"` -> `("lexoffice", "shop-b")`; `"lexoffice"` -> `("lexoffice", None)`."""
    name, sep, connection = endpoint.partition("@")
    return name, (connection if sep else None)


@dataclass
class PluginCheck:
    """What validating the plugin sections and pipeline references produced."""

    enabled: set[str] = field(default_factory=set)
    defaults: dict[str, BaseModel] = field(default_factory=dict)
    connections: dict[str, dict[str, BaseModel]] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    options: dict[tuple[str, str], BaseModel] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _usage(pipelines: Iterable[tuple[int, Any]], registry: Registry) -> dict[str, set[str | None]]:
    """Which connections (None: the plugin table itself) enabled pipelines use, per plugin."""
    used: dict[str, set[str | None]] = {}
    for _i, p in pipelines:
        if not p.enabled:
            continue
        for kind, endpoint in (("source", p.source), *(("target", t) for t in p.targets)):
            if not isinstance(endpoint, str):
                continue  # a field error, reported with the pipeline
            name, conn = split_endpoint(endpoint)
            owner = registry.origin.get((kind, name))
            if owner is not None:
                used.setdefault(owner, set()).add(conn)
    return used


def check_plugins(raw_plugins: Any, pipelines: list[tuple[int, Any]],
                  registry: Registry) -> PluginCheck:
    """Validate every `[plugins.<name>]` table and its connections, then every pipeline."""
    out = PluginCheck()
    used = _usage(pipelines, registry)
    if isinstance(raw_plugins, dict):
        for name, section in sorted(raw_plugins.items()):
            _check_section(out, name, section, registry, used.get(name, set()))
    seen: set[str] = set()
    for i, p in pipelines:
        where = f"pipelines[{i}]"
        if p.name and p.name in seen:
            out.problems.append(f"{where}.name: {p.name!r} is used by another pipeline")
        seen.add(p.name)
        if not p.enabled:
            continue
        if isinstance(p.source, str):
            _check_endpoint(out, f"{where}.source", p.source, "source", registry, raw_plugins)
        for j, t in enumerate(p.targets):
            _check_endpoint(out, f"{where}.targets[{j}]", t, "target", registry, raw_plugins)
        _check_options(out, where, p, registry)
    out.problems = list(dict.fromkeys(out.problems))  # a base-table error shared by connections
    return out


def _check_section(out: PluginCheck, name: str, section: Any, registry: Registry,
                   used: set[str | None]) -> None:
    model = registry.config_models.get(name)
    where = f"plugins.{name}"
    if model is None:
        known = ", ".join(sorted(registry.config_models)) or "none"
        out.problems.append(f"{where}: no installed plugin is named {name!r} (installed: {known})")
        return
    if not isinstance(section, dict):
        out.problems.append(f"{where}: must be a table")
        return
    enabled = section.get("enabled", False)
    if enabled is not True and enabled is not False:
        out.problems.append(f"{where}.enabled: must be true or false")
        return
    if not enabled:
        return
    out.enabled.add(name)
    base = {k: v for k, v in section.items() if k != "connections"}
    raw_connections = section.get("connections", {})
    if not isinstance(raw_connections, dict):
        out.problems.append(f"{where}.connections: must be a table of named connections")
        raw_connections = {}
    # the plugin table is a connection of its own unless it only holds shared keys
    if not raw_connections or None in used:
        try:
            out.defaults[name] = model(**base)
        except ValidationError as exc:
            out.problems.extend(validation_messages(exc, where))
    conns: dict[str, BaseModel] = {}
    for conn, table in sorted(raw_connections.items()):
        cwhere = f"{where}.connections.{conn}"
        if not CONNECTION_NAME.match(conn):
            out.problems.append(f"{cwhere}: a connection name is letters, digits and _ . - "
                                "(it is written as <endpoint>@<name> in pipelines)")
            continue
        if not isinstance(table, dict):
            out.problems.append(f"{cwhere}: must be a table")
            continue
        if "enabled" in table:
            out.problems.append(f"{cwhere}.enabled: a connection is enabled with its plugin "
                                f"({where}.enabled)")
            continue
        try:
            conns[conn] = model(**{**base, **table})
        except ValidationError as exc:
            for problem in validation_messages(exc, ""):
                key = problem.split(".", 1)[0].split(":", 1)[0].split("[", 1)[0]
                out.problems.append(f"{cwhere if key in table or key not in base else where}."
                                    f"{problem}")
    out.connections[name] = conns
    for (kind, endpoint), owner in registry.origin.items():
        if owner == name and kind in ("source", "target"):
            out.owners[(kind, endpoint)] = name


def _check_endpoint(out: PluginCheck, where: str, endpoint: str, kind: str, registry: Registry,
                    raw_plugins: Any) -> None:
    if not ENDPOINT.match(endpoint):
        out.problems.append(f"{where}: {endpoint!r} is not a {kind} name (write <name> or "
                            "<name>@<connection>)")
        return
    name, conn = split_endpoint(endpoint)
    table = registry.sources if kind == "source" else registry.targets
    if name not in table:
        offered = ", ".join(sorted(table)) or "none installed"
        out.problems.append(f"{where}: no plugin offers a {kind} named {name!r} "
                            f"(available: {offered})")
        return
    owner = registry.origin[(kind, name)]
    if owner not in out.enabled:
        section = raw_plugins.get(owner) if isinstance(raw_plugins, dict) else None
        if isinstance(section, dict) and section.get("enabled") not in (True, False):
            return  # reported with the section
        hint = (f"set plugins.{owner}.enabled" if isinstance(section, dict)
                else f"add [plugins.{owner}] with enabled = true")
        out.problems.append(f"{where}: plugin {owner!r} is not enabled ({hint})")
        return
    if conn is None:
        return
    section = raw_plugins.get(owner) if isinstance(raw_plugins, dict) else None
    defined = (section or {}).get("connections") if isinstance(section, dict) else None
    defined = defined if isinstance(defined, dict) else {}
    if conn not in defined:
        known = ", ".join(sorted(defined)) or "none"
        out.problems.append(f"{where}: plugin {owner!r} has no connection {conn!r} (add "
                            f"[plugins.{owner}.connections.{conn}]; defined: {known})")


def _check_options(out: PluginCheck, where: str, pipeline: Any, registry: Registry) -> None:
    """`[pipelines.options.<endpoint>]` tables, validated by each target's options_model."""
    for endpoint in pipeline.options:
        if endpoint not in pipeline.targets:
            out.problems.append(f"{where}.options.{endpoint}: {endpoint!r} is not a target of "
                                f"this pipeline (targets: {', '.join(pipeline.targets)})")
    for endpoint in dict.fromkeys(pipeline.targets):
        cls = registry.targets.get(split_endpoint(endpoint)[0])
        if cls is None:
            continue  # reported as an unknown target
        model = getattr(cls, "options_model", None)
        table = pipeline.options.get(endpoint)
        if table is not None and not isinstance(table, dict):
            continue  # a field error, reported with the pipeline
        if model is None:
            if table is not None:
                out.problems.append(f"{where}.options.{endpoint}: target "
                                    f"{split_endpoint(endpoint)[0]!r} takes no options")
            continue
        try:
            out.options[(pipeline.name, endpoint)] = model(**(table or {}))
        except ValidationError as exc:
            out.problems.extend(validation_messages(exc, f"{where}.options.{endpoint}"))


def check_state_url(url: str | None) -> list[str]:
    """A state URL syncd can use: SQLite or PostgreSQL, with its driver installed."""
    if not url:
        return []
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return [f"state.url: {url.split('@')[-1]!r} is not a database URL "
                "(sqlite:///path/syncd.db or postgresql+psycopg://user@host/db)"]
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        return ["state.url: an in-memory SQLite database keeps nothing between runs; name a "
                "file (sqlite:///path/to/syncd.db)"]
    if backend not in SUPPORTED_DATABASES:
        return [f"state.url: database {backend!r} is not supported (use sqlite or "
                "postgresql+psycopg)"]
    driver = parsed.get_driver_name()
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return [f"state.url: {driver!r} is not a {backend} driver SQLAlchemy knows; "
                f"use {SUPPORTED_DATABASES[backend]}"]
    except ImportError as exc:
        return [f"state.url: the driver {driver!r} for {backend} is not installed ({exc}); "
                f"use {SUPPORTED_DATABASES[backend]}"]
    return []
