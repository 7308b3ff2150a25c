"""Entry point of the Amazon plugin: registers what it offers with syncd."""

from __future__ import annotations

from collections.abc import Callable

from syncd import hookimpl
from syncd_amazon.config import AmazonConfig


@hookimpl
def register_config_models(register: Callable[[str, type], None]) -> None:
    register("amazon", AmazonConfig)
