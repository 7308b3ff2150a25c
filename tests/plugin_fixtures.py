"""An in-process plugin for foundation tests: a config model, a source and a target."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import SecretStr

from syncd import hookimpl
from syncd.connectors import Batch, PluginConfig, RemoteRef, Source, Target, Window
from syncd.model import Document


class FakeConfig(PluginConfig):
    api_key: SecretStr
    region: str = "eu"


class FakeSource(Source):
    name = "fake-source"
    config_model = FakeConfig

    def read(self, cursor, window: Window | None = None) -> Iterator[Batch]:
        yield Batch(items=[], cursor=cursor)


class FakeTarget(Target):
    name = "fake-target"
    config_model = FakeConfig

    def deliver(self, document: Document) -> RemoteRef:
        return RemoteRef(document.identity)

    def find_existing(self, document: Document) -> RemoteRef | None:
        return None


class FakePlugin:
    @hookimpl
    def register_config_models(self, register):
        register("fake", FakeConfig)

    @hookimpl
    def register_sources(self, register):
        register(FakeSource)

    @hookimpl
    def register_targets(self, register):
        register(FakeTarget)
