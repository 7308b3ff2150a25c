"""The dashboard's security points over HTTP: sessions, roles, CSRF, escaping, secrets."""

from __future__ import annotations

import re

import pytest

from syncd.errors import ConfigError
from syncd.web.auth import check_exposure
from tests.web_helpers import EVIL, OPERATOR, SECRETS, VIEWER, csrf_of, evil_document, make_site

PAGES = ["/", "/upload", "/documents/waiting", "/documents/error", "/documents/done",
         "/documents/manual", "/documents/revised", "/document/1", "/document/1/json",
         "/events", "/system", "/reload", "/metrics"]


@pytest.fixture
def site(tmp_path, document_sink):
    s = make_site(tmp_path, document_sink.url, reject_keys=["doc-000002"])
    yield s
    s.app.state.web.close()
    s.store.close()


def test_every_page_but_healthz_needs_a_session(site):
    client = site.client()
    assert client.get("/healthz").text == "ok"
    assert client.get("/metrics").status_code == 401
    for path in PAGES[:-1]:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next="), path
    for path in ("/actions/apply", "/pipelines/webshop/run", "/pipelines/webshop/pause",
                 "/reload", "/upload", "/logout"):
        assert client.post(path, follow_redirects=False).status_code in (303, 403), path
    assert client.get("/reload/jobs/1.json").status_code == 401


def test_metrics_public_only_when_configured(tmp_path, document_sink):
    site = make_site(tmp_path, document_sink.url, web="metrics_public = true")
    body = site.client().get("/metrics").text
    assert 'syncd_deliveries{pipeline="webshop",state="done",target="sink"} 12.0' in body
    assert "syncd_deadline_warnings" in body


def test_wrong_password_then_rate_limited(site):
    client = site.client()
    for _ in range(5):
        token = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"username": "erika", "password": "nope", "csrf": token})
        assert r.status_code == 401 and "Wrong user name or password." in r.text
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "erika", "password": OPERATOR[1],
                                    "csrf": token})
    assert r.status_code == 429 and "Too many failed logins" in r.text
    kinds = [e["kind"] for e in site.store.events()]
    assert kinds.count("login-failed") == 5 and "login" not in kinds


def test_login_needs_its_csrf_token_and_never_redirects_off_site(site):
    client = site.client()
    client.get("/login")
    r = client.post("/login", data={"username": "erika", "password": OPERATOR[1]})
    assert r.status_code == 403
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "erika", "password": OPERATOR[1],
                                    "csrf": token, "next": "//evil.example/x"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_session_cookie_is_signed_httponly_samesite(site):
    client = site.client()
    token = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "erika", "password": OPERATOR[1],
                                    "csrf": token}, follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/", follow_redirects=False).status_code == 200
    value = client.cookies["syncd_session"]
    client.cookies.set("syncd_session", value[:-4] + "AAAA")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(site):
    client = site.login()
    token = csrf_of(client.get("/").text)
    client.post("/logout", data={"csrf": token})
    assert client.get("/", follow_redirects=False).status_code == 303


def _error_ids(site):
    return [r["id"] for r in site.store.list_documents(state="error")]


def test_viewer_reads_but_cannot_act(site):
    viewer = site.login(VIEWER)
    page = viewer.get("/documents/error").text
    assert "doc-000002" in page and 'name="action"' not in page and "Run now" not in page
    token = csrf_of(page)
    (doc_id,) = _error_ids(site)
    for path, data in (("/actions/confirm", {"action": "reset", "id": doc_id}),
                       ("/actions/apply", {"action": "reset", "id": doc_id,
                                           "confirmed": "yes"}),
                       ("/pipelines/webshop/run", {}),
                       ("/pipelines/webshop/pause", {"paused": "yes"}),
                       ("/upload", {"pipeline": "uploads"}),
                       ("/reload", {"pipeline": "webshop", "from": "2026-01-01",
                                    "to": "2026-01-02"})):
        r = viewer.post(path, data={"csrf": token, **data})
        assert r.status_code == 403 and "your role is viewer" in r.text, path
    assert _error_ids(site) == [doc_id]
    assert not [e for e in site.store.events()
                if e["kind"] in ("reset", "run-requested", "paused", "inbox")]


def test_actions_without_or_with_a_wrong_csrf_token_are_refused(site):
    operator = site.login()
    (doc_id,) = _error_ids(site)
    for token in (None, "x" * 43):
        data = {"action": "reset", "id": doc_id, "confirmed": "yes"}
        if token:
            data["csrf"] = token
        assert operator.post("/actions/apply", data=data).status_code == 403
        assert operator.post("/pipelines/webshop/run", data=data).status_code == 403
    assert _error_ids(site) == [doc_id]
    other = site.login(VIEWER)  # another session's token is no good either
    data = {"action": "reset", "id": doc_id, "confirmed": "yes",
            "csrf": csrf_of(other.get("/").text)}
    assert operator.post("/actions/apply", data=data).status_code == 403


def test_hostile_data_stays_text(site):
    site.store.ingest("webshop", "synthetic", ["sink"], [evil_document()], None,
                      store_cursor=False)
    operator = site.login()
    listing = operator.get("/documents/waiting").text
    doc_id = int(re.search(r'href="/document/(\d+)">evil-1', listing).group(1))
    for page in (listing, operator.get(f"/document/{doc_id}").text,
                 operator.get("/documents/waiting", params={"q": EVIL}).text):
        assert EVIL not in page
        assert "&lt;script&gt;" in page
    assert "<script>alert" not in operator.get("/events", params={"actor": EVIL}).text


@pytest.mark.parametrize("path", [
    "/document/..%2F..%2Fsyncd.toml/pdf", "/document/1%2F..%2F..%2Fsyncd.toml/json",
    "/document/-1/pdf", "/document/1.5/pdf", "/static/..%2Fsyncd.toml",
    "/static/../../syncd.toml", "/document/99999/pdf", "/reload/jobs/..%2F1.json"])
def test_downloads_only_by_id(site, path):
    r = site.login().get(path)
    assert r.status_code == 404
    assert "plugins.testing" not in r.text and SECRETS[0] not in r.text


def test_no_secret_on_any_page_or_error_page(site, monkeypatch):
    operator = site.login()
    hashes = [u.password_hash.get_secret_value() for u in site.config.settings.web.users.values()]
    seen = []
    for path in [*PAGES, "/document/1/pdf", "/nowhere", "/documents/nonsense"]:
        r = operator.get(path)
        seen.append(r.text)
    system = operator.get("/system").text
    assert "**********" in system and "client_secret" in system
    monkeypatch.setattr(site.store, "runs", lambda: (_ for _ in ()).throw(
        RuntimeError(f"boom {SECRETS[1]}")))
    from starlette.testclient import TestClient

    broken = TestClient(site.app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    broken.cookies = operator.cookies
    r = broken.get("/")
    assert r.status_code == 500
    seen.append(r.text)
    for text in seen:
        for secret in (*SECRETS, *hashes, "$argon2"):
            assert secret not in text


def test_refuses_a_non_loopback_address_without_users(tmp_path, document_sink):
    alone = make_site(tmp_path, document_sink.url, users=False, run=False)
    check_exposure(alone.config, "127.0.0.1")
    with pytest.raises(ConfigError) as err:
        check_exposure(alone.config, "0.0.0.0")
    assert "without users" in str(err.value.problems)
    # local mode: the OS user acts, but only under this machine's names (DNS rebinding)
    client = alone.client()
    assert "Local mode" in client.get("/").text
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_users_allow_a_non_loopback_address(site):
    check_exposure(site.config, "0.0.0.0")
