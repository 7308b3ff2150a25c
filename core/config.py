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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from syncd.connectors import Company, PluginConfig
from syncd.durations import Duration
from syncd.errors import ConfigError
from syncd.model import Address, Seller
from syncd.plugins import Registry
from syncd.schedule import Schedule

DEFAULT_CONFIG = "syncd.toml"
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


class PipelineSettings(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: str
    targets: list[str] = Field(min_length=1)
    schedule: str = "12h"
    enabled: bool = True
    language: str | None = None
    einvoice: Literal["auto", "none", "zugferd", "xrechnung"] = "auto"

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
    """Validated settings plus each enabled plugin's validated config model."""

    settings: Settings
    path: Path
    plugin_configs: dict[str, PluginConfig] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def database_url(self) -> str:
        url = self.settings.state.url
        if url:
            return url
        return f"sqlite:///{(self.base_dir / 'syncd.db').resolve()}"

    @property
    def enabled_plugins(self) -> set[str]:
        return set(self.plugin_configs)

    def company(self) -> Company | None:
        c = self.settings.company
        if c is None:
            return None
        logo = str((self.base_dir / c.logo).resolve()) if c.logo else None
        return Company(seller=c.seller(), logo=logo)

    def pipeline(self, name: str) -> PipelineSettings:
        for p in self.settings.pipelines:
            if p.name == name:
                return p
        raise ConfigError([f"pipelines: no pipeline is named {name!r}"], str(self.path))

    def secrets(self) -> list[str]:
        """Every configured secret value, for the log masker."""
        found = [s for cfg in self.plugin_configs.values() for s in _secret_values(cfg)]
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
            plugins[name] = cfg.model_dump(mode="json", exclude_none=True) if cfg else {
                "enabled": bool(raw.get("enabled", False))
            }
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


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _messages(error: ValidationError, prefix: str = "") -> list[str]:
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
        problems.extend(_messages(exc))
        # keep checking plugin sections and pipelines from the raw data
        settings = None

    raw_plugins = settings.plugins if settings else data.get("plugins", {})
    plugin_configs: dict[str, PluginConfig] = {}
    if isinstance(raw_plugins, dict):
        for name, section in sorted(raw_plugins.items()):
            model = registry.config_models.get(name)
            if model is None:
                known = ", ".join(sorted(registry.config_models)) or "none"
                problems.append(f"plugins.{name}: no installed plugin is named {name!r} "
                                f"(installed: {known})")
                continue
            if not isinstance(section, dict):
                problems.append(f"plugins.{name}: must be a table")
                continue
            enabled = section.get("enabled", False)
            if enabled is not True and enabled is not False:
                problems.append(f"plugins.{name}.enabled: must be true or false")
                continue
            if not enabled:
                continue
            try:
                plugin_configs[name] = model(**section)
            except ValidationError as exc:
                problems.extend(_messages(exc, f"plugins.{name}"))

    pipelines = (
        list(enumerate(settings.pipelines)) if settings else _valid_pipelines(data.get("pipelines"))
    )
    seen: set[str] = set()
    for i, p in pipelines:
        where = f"pipelines[{i}]"
        if p.name in seen:
            problems.append(f"{where}.name: {p.name!r} is used by another pipeline")
        seen.add(p.name)
        if not p.enabled:
            continue
        problems.extend(_check_endpoint(f"{where}.source", p.source, "source", registry,
                                        raw_plugins, plugin_configs))
        for j, t in enumerate(p.targets):
            problems.extend(_check_endpoint(f"{where}.targets[{j}]", t, "target", registry,
                                            raw_plugins, plugin_configs))

    if problems:
        raise ConfigError(problems, str(cfg_path))
    assert settings is not None
    return Config(settings=settings, path=cfg_path, plugin_configs=plugin_configs)


def _valid_pipelines(raw: Any) -> list[tuple[int, PipelineSettings]]:
    """The pipelines that validate on their own, so cross-checks run despite other errors."""
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(item, dict):
            try:
                out.append((i, PipelineSettings(**item)))
            except ValidationError:
                continue
    return out


def _check_endpoint(
    where: str,
    name: str,
    kind: str,
    registry: Registry,
    raw_plugins: Any,
    enabled: dict[str, PluginConfig],
) -> list[str]:
    table = registry.sources if kind == "source" else registry.targets
    if name not in table:
        offered = ", ".join(sorted(table)) or "none installed"
        return [f"{where}: no plugin offers a {kind} named {name!r} (available: {offered})"]
    owner = registry.origin[(kind, name)]
    if owner not in enabled and isinstance(raw_plugins, dict) and owner in raw_plugins:
        # section present but disabled, or present with errors reported elsewhere
        section = raw_plugins.get(owner) or {}
        if isinstance(section, dict) and section.get("enabled") is not True:
            return [f"{where}: plugin {owner!r} is not enabled (set plugins.{owner}.enabled)"]
        return []
    if owner not in enabled:
        return [f"{where}: plugin {owner!r} is not enabled (add [plugins.{owner}] "
                "with enabled = true)"]
    return []
