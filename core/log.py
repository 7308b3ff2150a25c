"""structlog setup: JSON lines off a TTY, readable console on one, secrets masked everywhere."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog
from structlog._config import BoundLoggerLazyProxy

TOKEN_PATTERNS = (
    re.compile(r"Atz[ar]\|[^\s\"',;}]+"),
    re.compile(r"(?i)\bBearer\s+[A-Za-z0-9\-._~+/|=]+"),
)
MASK = "***"

LogFormat = Literal["auto", "json", "console"]


class SecretMasker:
    """A structlog processor that replaces configured secrets and token-shaped strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # longest first so that a secret containing another is masked whole
        merged = {s for s in (*self.secrets, *secrets) if s and len(s) >= 4}
        self.secrets = sorted(merged, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in TOKEN_PATTERNS:
            text = pattern.sub(MASK, text)
        return text

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {k: self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._walk(v) for v in value)
        if isinstance(value, BaseException):
            return self.mask(f"{type(value).__name__}: {value}")
        return value

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = self._walk(value)
        return event_dict


_masker = SecretMasker()


def masker() -> SecretMasker:
    """The process-wide masker, so code that formats errors itself can mask them too."""
    return _masker


def configure(
    fmt: LogFormat = "auto",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: Any = None,
) -> None:
    """(Re)configure structlog; call again after the config is loaded to add its secrets."""
    _masker.add(secrets)
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _masker,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str, **bound: Any) -> Any:
    """A lazy logger: safe at module level, it picks up the configuration in force when used."""
    # structlog.get_logger() cannot take a "logger" value; its lazy proxy can
    return BoundLoggerLazyProxy(
        None, initial_values={"logger": name, **bound}, logger_factory_args=(name,)
    )
