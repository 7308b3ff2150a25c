"""Entry point of the Xentral plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncd import hookimpl
from syncd_xentral.config import XentralConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("xentral", XentralConfig)


@hookimpl
def register_targets(register: Callable[[type], None]) -> None:
    from syncd_xentral.target import XentralTarget

    register(XentralTarget)


@hookimpl
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    from syncd_xentral.sandbox import XentralEmulator

    register("xentral", XentralEmulator)


@hookimpl
def register_demos(register: Callable[[type], None]) -> None:
    from syncd_xentral.demo import XentralDemo

    register(XentralDemo)
