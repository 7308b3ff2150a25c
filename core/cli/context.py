"""State shared by the CLI commands: the config path, the plugin host, the loaded config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from syncd import log as syncd_log
from syncd.config import Config, load_config
from syncd.plugins import PluginHost, load_plugins


@dataclass
class CliContext:
    config_path: Path | None
    debug: bool = False
    log_format: str = "auto"
    host: PluginHost | None = None
    _config: Config | None = field(default=None, repr=False)

    @property
    def plugins(self) -> PluginHost:
        if self.host is None:
            self.host = load_plugins()
        return self.host

    def config(self) -> Config:
        """Load and validate once; raises ConfigError listing every problem."""
        if self._config is None:
            self._config = load_config(self.config_path, self.plugins.registry)
            syncd_log.configure(
                fmt=self.log_format,  # type: ignore[arg-type]
                level="DEBUG" if self.debug else "INFO",
                secrets=self._config.secrets(),
            )
        return self._config
