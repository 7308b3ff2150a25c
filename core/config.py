"""One TOML file, read through pydantic-settings, every key overridable from the environment.

`load_config` reports every problem at once, each with its TOML path, so that `syncd config
check` can list them all. Plugin sections are validated by the model each plugin registered.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from syncd.config_checks import (
    check_plugins,
    check_state_url,
    split_endpoint,
    validation_messages,
)
from syncd.connectors import Company, PluginConfig, TargetOptions
from syncd.durations import Duration
from syncd.errors import ConfigError
from syncd.model import Address, Seller
from syncd.plugins import Registry
from syncd.schedule import Schedule

DEFAULT_CONFIG = "syncd.toml"
DEFAULT_TIMEZONE = "Europe/Berlin"
CONFIG_ENV = "SYNCD_CONFIG"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class CompanySettings(Section):
    """The seller: printed on every invoice syncd renders."""

    name: str
    address: list[str] = Field(default_factory=list, description="Street lines")
    postal_code: str
    city: str
    country: str = Field(min_length=2, max_length=2)
    vat_ids: dict[str, str] = Field(default_factory=dict)
    tax_number: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    logo: Path | None = None
    footer: str | None = None
    timezone: str = Field(default=DEFAULT_TIMEZONE,
                          description="IANA zone of the seller's calendar day (issue dates)")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as "
                             "'Europe/Berlin'") from None
        return value

    def seller(self) -> Seller:
        return Seller(
            name=self.name,
            address=Address(
                company=self.name,
                lines=tuple(self.address),
                postal_code=self.postal_code,
                city=self.city,
                country=self.country,
            ),
            vat_ids=dict(self.vat_ids),
            tax_number=self.tax_number,
            email=self.email,
            phone=self.phone,
            website=self.website,
        )


class StateSettings(Section):
    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file syncd.db next to the config",
    )


class EngineSettings(Section):
    max_attempts: int = Field(default=8, ge=1)
    backoff_base: Duration = Field(default=timedelta(seconds=2))
    backoff_max: Duration = Field(default=timedelta(hours=1))
    lease: Duration = Field(default=timedelta(minutes=5))
    batch_size: int = Field(default=200, ge=1)


class RenderSettings(Section):
    templates: Path | None = Field(default=None, description="Folder overriding the templates")
    language: str | None = None
    footer: str | None = None


class WebUser(Section):
    """One dashboard login; `syncd web add-user NAME` writes the argon2 hash."""

    password_hash: SecretStr = Field(description="argon2 hash (never the password)")
    role: Literal["viewer", "operator"] = "viewer"


class WebSettings(Section):
    """`[web]`: the dashboard (`syncd web`, `syncd run --web`); see docs/web.md."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    users: dict[str, WebUser] = Field(default_factory=dict)
    secret_key: SecretStr | None = Field(
        default=None, description="signs session cookies; default: generated in data/web/")
    metrics_public: bool = False
    secure_cookies: bool = Field(default=False, description="set when served behind TLS")
    session_max_age: Duration = Field(default=timedelta(hours=12))


class PipelineSettings(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: str
    targets: list[str] = Field(min_length=1)
    schedule: str = "12h"
    enabled: bool = True
    language: str | None = None
    einvoice: Literal["auto", "none", "zugferd", "xrechnung"] = "auto"
    options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="[pipelines.options.<endpoint>]: per-target options (the target's model)",
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        Schedule.parse(value)
        return value

    @property
    def parsed_schedule(self) -> Schedule:
        return Schedule.parse(self.schedule)


class Settings(BaseSettings):
    """The whole file. Environment variables win over the file: SYNCD_STATE__URL, …"""

    model_config = SettingsConfigDict(
        env_prefix="SYNCD_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    company: CompanySettings | None = None
    state: StateSettings = StateSettings()
    engine: EngineSettings = EngineSettings()
    render: RenderSettings = RenderSettings()
    web: WebSettings = WebSettings()
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    pipelines: list[PipelineSettings] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init carries the TOML file; the environment must override it
        return env_settings, init_settings


@dataclass
class Config:
    """Validated settings plus each enabled plugin's validated config models."""

    settings: Settings
    path: Path
    plugin_configs: dict[str, PluginConfig] = field(default_factory=dict)
    """The plugin table itself per plugin (absent when it only holds keys shared by
    connections and no pipeline uses it directly)."""
    connections: dict[str, dict[str, PluginConfig]] = field(default_factory=dict)
    """`[plugins.<plugin>.connections.<conn>]`, each merged over the plugin table."""
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    """(kind, source/target name) -> the enabled plugin offering it."""
    options: dict[tuple[str, str], TargetOptions] = field(default_factory=dict)
    """(pipeline, endpoint) -> the target's validated per-pipeline options."""
    enabled: set[str] | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def database_url(self) -> str:
        """The state URL; a relative SQLite path is relative to the config file's folder."""
        url = self.settings.state.url
        if not url:
            return f"sqlite:///{(self.base_dir / 'syncd.db').resolve()}"
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        database = parsed.database
        if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
                or database.startswith("file:") or Path(database).is_absolute():
            return url
        absolute = str((self.base_dir / database).resolve())
        return parsed.set(database=absolute).render_as_string(hide_password=False)

    @property
    def enabled_plugins(self) -> set[str]:
        return set(self.plugin_configs) if self.enabled is None else set(self.enabled)

    @property
    def timezone(self) -> str:
        """The seller's time zone (`[company] timezone`), also without a `[company]` table."""
        c = self.settings.company
        return c.timezone if c else DEFAULT_TIMEZONE

    def company(self) -> Company | None:
        c = self.settings.company
        if c is None:
            return None
        logo = str((self.base_dir / c.logo).resolve()) if c.logo else None
        return Company(seller=c.seller(), logo=logo, timezone=c.timezone)

    def connector_config(self, endpoint: str, kind: str | None = None) -> tuple[str, PluginConfig]:
        """The plugin behind `endpoint` ("lexoffice" or "lexoffice@shop-b") and its config.

        `kind` ("source" or "target") disambiguates a name both kinds use; ConfigError when
        the endpoint names no enabled plugin or an undefined connection.
        """
        name, conn = split_endpoint(endpoint)
        kinds = (kind,) if kind else ("source", "target")
        owner = next((self.owners[(k, name)] for k in kinds if (k, name) in self.owners), None)
        if owner is None:
            raise ConfigError([f"{endpoint!r}: no enabled plugin offers a "
                               f"{kind or 'source or target'} named {name!r}"], str(self.path))
        found = (self.plugin_configs.get(owner) if conn is None
                 else self.connections.get(owner, {}).get(conn))
        if found is None:
            what = f"connection {conn!r}" if conn else "a usable [plugins.{owner}] table"
            raise ConfigError([f"{endpoint!r}: plugin {owner!r} has no {what}"], str(self.path))
        return owner, found

    def target_options(self, pipeline: PipelineSettings | str, endpoint: str) -> Any:
        """The target's validated options for this pipeline (`Job.options`), or None when
        the target declares no `options_model`."""
        name = pipeline if isinstance(pipeline, str) else pipeline.name
        return self.options.get((name, endpoint))

    def pipeline(self, name: str) -> PipelineSettings:
        for p in self.settings.pipelines:
            if p.name == name:
                return p
        raise ConfigError([f"pipelines: no pipeline is named {name!r}"], str(self.path))

    def secrets(self) -> list[str]:
        """Every configured secret value, for the log masker."""
        models = [*self.plugin_configs.values(),
                  *(c for conns in self.connections.values() for c in conns.values())]
        found = [s for cfg in models for s in _secret_values(cfg)]
        password = _url_password(self.database_url)
        if password:
            found.append(password)
        return [s for s in found if s]

    def redacted(self) -> dict[str, Any]:
        """The effective config as plain data with every secret masked."""
        data = self.settings.model_dump(mode="json", exclude_none=True)
        data["state"] = {"url": _mask_url(self.database_url)}
        plugins: dict[str, Any] = {}
        for name, raw in self.settings.plugins.items():
            cfg = self.plugin_configs.get(name)
            table = {k: v for k, v in raw.items() if k != "connections"}
            enabled = {"enabled": bool(raw.get("enabled", False))}
            conns = self.connections.get(name)
            plugins[name] = cfg.model_dump(mode="json", exclude_none=True) if cfg else (
                {**_mask_raw(table, conns), **enabled} if name in self.enabled_plugins
                else enabled)
            if conns:
                plugins[name]["connections"] = {
                    conn: c.model_dump(mode="json", exclude_none=True, exclude={"enabled"})
                    for conn, c in conns.items()}
        data["plugins"] = plugins
        return data


def _secret_values(model: BaseModel) -> list[str]:
    out = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            out.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            out.extend(_secret_values(value))
    return out


def _mask_raw(table: dict[str, Any], connections: dict[str, PluginConfig] | None
              ) -> dict[str, Any]:
    """A plugin table holding only keys its connections share (not validated on its own):
    the model's secret fields, and anything named like a secret, are masked."""
    secret = {n for c in (connections or {}).values() for n in type(c).model_fields
              if isinstance(getattr(c, n), SecretStr)}
    return {k: "**********" if k in secret or any(
        w in k.lower() for w in ("secret", "token", "password", "key")) else v
        for k, v in table.items()}


def _url_password(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password
    except Exception:
        return None


def _mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return url
    return parsed.render_as_string(hide_password=True)


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(DEFAULT_CONFIG)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [f"file not found (create it, pass -c/--config or set {CONFIG_ENV})"], str(path)
        ) from None
    except OSError as exc:
        raise ConfigError([f"cannot read: {exc.strerror}"], str(path)) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"not UTF-8 text (byte {exc.start})"], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"malformed TOML: {exc}"], str(path)) from None


def load_config(
    path: str | os.PathLike[str] | None,
    registry: Registry,
    data: dict[str, Any] | None = None,
) -> Config:
    """Read, validate and cross-check the config; raise ConfigError listing every problem."""
    cfg_path = resolve_path(path)
    if data is None:
        data = read_toml(cfg_path)
    problems: list[str] = []
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        problems.extend(validation_messages(exc))
        # keep checking plugin sections and pipelines from the raw data
        settings = None

    raw_plugins = settings.plugins if settings else data.get("plugins", {})
    pipelines = (
        list(enumerate(settings.pipelines)) if settings else _valid_pipelines(data.get("pipelines"))
    )
    checked = check_plugins(raw_plugins, pipelines, registry)
    problems.extend(checked.problems)
    state = data.get("state")
    raw_url = settings.state.url if settings else (
        state.get("url") if isinstance(state, dict) else None)
    if isinstance(raw_url, str):
        problems.extend(check_state_url(raw_url))

    if problems:
        raise ConfigError(problems, str(cfg_path))
    assert settings is not None
    return Config(settings=settings, path=cfg_path, plugin_configs=checked.defaults,
                  connections=checked.connections, owners=checked.owners,
                  options=checked.options, enabled=checked.enabled)


def _valid_pipelines(raw: Any) -> list[tuple[int, Any]]:
    """Every pipeline as far as it can be read, so cross-checks run despite field errors."""
    out: list[tuple[int, Any]] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict):
            continue
        try:
            out.append((i, PipelineSettings(**item)))
        except ValidationError:  # reported already; still check what it names
            targets, options = item.get("targets"), item.get("options")
            out.append((i, SimpleNamespace(
                name=str(item.get("name", "")),
                source=item.get("source") if isinstance(item.get("source"), str) else None,
                targets=[t for t in targets if isinstance(t, str)]
                if isinstance(targets, list) else [],
                enabled=item.get("enabled", True) is not False,
                options=options if isinstance(options, dict) else {},
            )))
    return out
