"""`syncd web add-user`, the exposure check of `syncd web`, and the dashboard in a thread."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from syncd.cli import cli
from syncd.cli.context import CliContext
from syncd.config import load_config
from syncd.plugins import load_plugins
from syncd.testing.plugin import PLUGIN
from syncd.web.auth import authenticate
from syncd.web.server import WebThread
from tests.web_csv_plugin import PLUGIN as CSV_PLUGIN
from tests.web_helpers import OPERATOR, config_text, csrf_of, make_site


def _invoke(path, *args, stdin=None):
    context = CliContext(config_path=None)
    context.host = load_plugins(extra=[PLUGIN, CSV_PLUGIN])
    return CliRunner().invoke(cli, ["-c", str(path), *args], obj=context, input=stdin)


def test_add_user_writes_an_argon2_hash_the_config_accepts(tmp_path, document_sink):
    path = tmp_path / "syncd.toml"
    path.write_text(config_text(document_sink.url, users=False))
    result = _invoke(path, "web", "add-user", "anna", "--role", "operator",
                     "--password-stdin", stdin="correct horse battery\n")
    assert result.exit_code == 0, result.output
    assert "correct horse" not in path.read_text() and "$argon2id$" in path.read_text()
    config = load_config(path, load_plugins(extra=[PLUGIN, CSV_PLUGIN]).registry)
    users = config.settings.web.users
    assert users["anna"].role == "operator"
    assert authenticate(users, "anna", "correct horse battery").name == "anna"
    assert authenticate(users, "anna", "wrong") is None
    again = _invoke(path, "web", "add-user", "anna", "--password-stdin", stdin="another-pw\n")
    assert again.exit_code == 1 and "exists" in str(again.exception)
    short = _invoke(path, "web", "add-user", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "8 characters" in str(short.exception)
    bad = _invoke(path, "web", "add-user", "a]b", "--password-stdin", stdin="long-enough\n")
    assert bad.exit_code == 2


def test_add_user_print_only(tmp_path):
    result = _invoke(tmp_path / "absent.toml", "web", "add-user", "carl", "--print",
                     "--password-stdin", stdin="long enough pw\n")
    assert result.exit_code == 0
    assert result.output.startswith('[web.users."carl"]\npassword_hash = "$argon2id$')
    assert 'role = "viewer"' in result.output


def test_web_refuses_a_public_address_without_users(tmp_path, document_sink):
    path = tmp_path / "syncd.toml"
    path.write_text(config_text(document_sink.url, users=False))
    result = _invoke(path, "web", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code != 0
    assert "without users" in str(result.exception or result.output)


def test_dashboard_thread_serves_and_stops(tmp_path, document_sink):
    site = make_site(tmp_path, document_sink.url, count=2)
    thread = WebThread(site.config, site.store, site.host, port=0).start()
    try:
        with httpx.Client(base_url=thread.url) as client:
            assert client.get("/healthz").text == "ok"
            token = csrf_of(client.get("/login").text)
            r = client.post("/login", data={"username": OPERATOR[0], "password": OPERATOR[1],
                                            "csrf": token}, follow_redirects=True)
            assert r.status_code == 200 and 'data-pipeline="webshop"' in r.text
    finally:
        thread.stop()
    assert not thread.thread.is_alive()


def test_run_once_with_web(tmp_path, document_sink):
    path = tmp_path / "syncd.toml"
    path.write_text(config_text(document_sink.url, count=3, web="port = 0"))
    result = _invoke(path, "run", "--once", "--web")
    assert result.exit_code == 0, result.output
    assert len(document_sink.received()) == 3


def test_inside_the_daemon_run_now_only_asks_the_daemon(tmp_path, document_sink):
    from starlette.testclient import TestClient

    from syncd.web.app import create_app

    site = make_site(tmp_path, document_sink.url, count=2)
    app = create_app(site.config, site.store, site.host, attached=True)
    client = site.login(client=TestClient(app, base_url="http://127.0.0.1"))
    r = client.post("/pipelines/webshop/run", data={"csrf": csrf_of(client.get("/").text)})
    assert "Run requested for webshop." in r.text
    assert app.state.web.jobs.recent() == []
    assert site.store.controls()["webshop"].run_requested_at is not None
