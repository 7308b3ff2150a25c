"""One test per hook (the meta-test in test_meta.py insists), each through a real plugin manager."""

import click
from click.testing import CliRunner

from syncd import hookimpl
from syncd.cli import cli
from syncd.cli.context import CliContext
from syncd.connectors import ConnectorContext
from syncd.demo import DemoPart
from syncd.plugins import load_plugins
from syncd.render import Renderer, RenderOptions

from .plugin_fixtures import FakeConfig, FakePlugin, FakeSource, FakeTarget
from .test_model import doc


def host_with(plugin):
    return load_plugins(only=[], extra=[("p", plugin)])


def test_hook_register_config_models():
    assert host_with(FakePlugin()).registry.config_models == {"fake": FakeConfig}


def test_hook_register_sources():
    source_cls = host_with(FakePlugin()).registry.sources["fake-source"]
    source = source_cls(FakeConfig(api_key="k"), ConnectorContext(plugin="p", data_dir=None))
    batches = list(source.read({"n": 1}))
    assert batches[0].cursor == {"n": 1}
    assert source.discover().max_window is None
    assert source_cls is FakeSource


def test_hook_register_targets():
    target_cls = host_with(FakePlugin()).registry.targets["fake-target"]
    assert target_cls is FakeTarget
    target = target_cls(FakeConfig(api_key="k"), ConnectorContext(plugin="p", data_dir=None))
    assert target.deliver(doc()).ref == "test:k1"


class UpperRenderer(Renderer):
    name = "upper"
    media_type = "text/plain"

    def render(self, document):
        return document.identity.upper().encode()


class RendererPlugin:
    @hookimpl
    def register_renderers(self, register):
        register(UpperRenderer)


def test_hook_register_renderers():
    renderer_cls = host_with(RendererPlugin()).registry.renderers["upper"]
    renderer = renderer_cls(RenderOptions(language="de"))
    assert renderer.render_many([doc(), doc(source_key="k2")]) == [b"TEST:K1", b"TEST:K2"]


class EchoEmulator:
    """A sandbox only needs a click `command` to be started from `syncd sandbox NAME`."""

    @click.command("echo")
    @click.option("--port", type=int, default=0)
    def command(port):
        click.echo(f"echo emulator would listen on 127.0.0.1:{port}")


class SandboxPlugin:
    @hookimpl
    def register_sandboxes(self, register):
        register("echo", EchoEmulator)


def test_hook_register_sandboxes():
    host = host_with(SandboxPlugin())
    assert host.registry.sandboxes == {"echo": EchoEmulator}
    result = CliRunner().invoke(cli, ["sandbox", "echo", "--port", "8123"],
                                obj=CliContext(config_path=None, host=host))
    assert result.exit_code == 0, result.output
    assert "127.0.0.1:8123" in result.output


class EchoDemo(DemoPart):
    name = "echo"
    plugin = "echo"

    def start(self, folder):
        return {"enabled": True}

    def pipelines(self, plugins):
        return [{"name": "echo", "source": "echo", "targets": ["echo"]}] if "echo" in plugins \
            else []


class DemoPlugin:
    @hookimpl
    def register_demos(self, register):
        register(EchoDemo)


def test_hook_register_demos():
    host = host_with(DemoPlugin())
    assert host.registry.demos == {"echo": EchoDemo}
    part = host.registry.demos["echo"]()
    assert part.start(None) == {"enabled": True}
    assert part.pipelines({"echo"})[0]["targets"] == ["echo"]
    assert part.pipelines(set()) == []
    assert part.notes() == []


class CommandPlugin:
    @hookimpl
    def register_commands(self, cli):
        @cli.command("greet")
        @click.argument("name")
        def greet(name):
            click.echo(f"hi {name}")


def test_hook_register_commands():
    group = click.Group("syncd")
    host_with(CommandPlugin()).pm.hook.register_commands(cli=group)
    result = CliRunner().invoke(group, ["greet", "ada"])
    assert result.output.strip() == "hi ada"
