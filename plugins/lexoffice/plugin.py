"""Entry point of the lexoffice plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncd import hookimpl
from syncd_lexoffice.config import LexofficeConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("lexoffice", LexofficeConfig)


@hookimpl
def register_targets(register: Callable[[type], None]) -> None:
    from syncd_lexoffice.target import LexofficeTarget

    register(LexofficeTarget)


@hookimpl
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    from syncd_lexoffice.sandbox import LexofficeEmulator

    register("lexoffice", LexofficeEmulator)


@hookimpl
def register_demos(register: Callable[[type], None]) -> None:
    from syncd_lexoffice.demo import LexofficeDemo

    register(LexofficeDemo)
