import json
import os
import subprocess
import sys

from .conftest import REPO

GOOD = """
[plugins.amazon]
enabled = true
client_id = "amzn1.application-oa2-client.test"
client_secret = "cs-topsecret-1"
refresh_token = "Atzr|refresh-topsecret-2"
marketplace_ids = ["A1PA6795UKMFR9"]
"""


def syncd(*args, cwd, env=None):
    full_env = {k: v for k, v in os.environ.items() if k != "SYNCD_CONFIG"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "syncd", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_version(tmp_path):
    out = syncd("--version", cwd=tmp_path)
    assert out.returncode == 0 and "syncd, version" in out.stdout


def test_plugins_list_json(tmp_path):
    out = syncd("plugins", "list", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    names = {row["name"]: row for row in json.loads(out.stdout)}
    assert names["amazon"]["distribution"] == "syncd"
    assert "config" in names["amazon"]["capabilities"]


def test_config_check_bad_config_lists_every_problem_and_exits_2(tmp_path):
    (tmp_path / "syncd.toml").write_text(
        GOOD.replace('client_id = "amzn1.application-oa2-client.test"\n', "")
        .replace('["A1PA6795UKMFR9"]', "[]") + "\n[state]\nurl = 5\n"
        + '\n[[pipelines]]\nname = "p"\nsource = "amazon@nope"\ntargets = ["lexofice"]\n'
        + 'schedule = "every day"\n'
    )
    out = syncd("config", "check", cwd=tmp_path)
    assert out.returncode == 2
    # field errors and the pipeline's references, all in one run
    assert "pipelines[0].schedule:" in out.stderr
    assert "pipelines[0].source: plugin 'amazon' has no connection 'nope'" in out.stderr
    assert "pipelines[0].targets[0]: no plugin offers a target named 'lexofice'" in out.stderr
    assert "plugins.amazon.client_id: field required" in out.stderr
    assert "plugins.amazon.marketplace_ids:" in out.stderr
    assert "state.url: input should be a valid string" in out.stderr
    assert "Traceback" not in out.stderr


def test_config_check_malformed_toml(tmp_path):
    (tmp_path / "bad.toml").write_text("[plugins\n")
    out = syncd("-c", "bad.toml", "config", "check", cwd=tmp_path)
    assert out.returncode == 2
    assert "line 1, column" in out.stderr


def test_config_show_masks_secrets_and_honours_env(tmp_path):
    (tmp_path / "syncd.toml").write_text(GOOD)
    out = syncd("config", "show", cwd=tmp_path,
                env={"SYNCD_PLUGINS__AMAZON__CLIENT_ID": "from-env-client"})
    assert out.returncode == 0, out.stderr
    assert "from-env-client" in out.stdout
    assert "topsecret" not in out.stdout + out.stderr
    assert 'client_secret = "**********"' in out.stdout


def test_config_from_env_var(tmp_path):
    (tmp_path / "elsewhere.toml").write_text(GOOD)
    out = syncd("config", "check", cwd=tmp_path,
                env={"SYNCD_CONFIG": str(tmp_path / "elsewhere.toml")})
    assert out.returncode == 0, out.stderr
    assert "enabled plugins: amazon" in out.stdout


def test_errors_are_one_line_and_traceback_only_with_debug(tmp_path):
    out = syncd("-c", "missing.toml", "config", "check", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "missing.toml" in out.stderr
    dbg = syncd("--debug", "-c", "missing.toml", "config", "check", cwd=tmp_path)
    assert "Traceback" in dbg.stderr


def test_plugin_commands_hook_adds_subcommands(tmp_path):
    # the example plugin is not installed here; use an in-process plugin through main()
    code = f"""
import sys; sys.path.insert(0, {str(REPO)!r})
import click
from syncd import hookimpl
from syncd import cli as cli_module
from syncd.plugins import load_plugins

class P:
    @hookimpl
    def register_commands(self, cli):
        @cli.command()
        def hello():
            click.echo("hello from a plugin")

host = load_plugins(extra=[("p", P())])
host.pm.hook.register_commands(cli=cli_module.cli)
cli_module.cli.main(args=["hello"], standalone_mode=False)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "hello from a plugin", out.stderr
