"""Entry point of the Amazon plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncd import hookimpl
from syncd_amazon.config import AmazonConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("amazon", AmazonConfig)


@hookimpl
def register_sources(register: Callable[[type], None]) -> None:
    from syncd_amazon.source import AmazonSource

    register(AmazonSource)


@hookimpl
def register_targets(register: Callable[[type], None]) -> None:
    from syncd_amazon.target import AmazonTarget

    register(AmazonTarget)


@hookimpl
def register_sandboxes(register: Callable[[str, Any], None]) -> None:
    from syncd_amazon.sandbox import AmazonEmulator

    register("amazon", AmazonEmulator)


@hookimpl
def register_demos(register: Callable[[type], None]) -> None:
    from syncd_amazon.demo import AmazonDemo

    register(AmazonDemo)
