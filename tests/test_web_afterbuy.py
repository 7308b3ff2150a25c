"""The dashboard's CSV upload with the real Afterbuy source and its emulator: an invoice-list
export with one broken row answers with the accepted documents and that row's line and
column (Sticky's "CSV Datei hochladen")."""

from __future__ import annotations

import time

import pytest
import tomli_w

from syncd.config import load_config
from syncd.engine.runtime import build_host
from syncd.plugins import load_plugins
from syncd.store import Store
from syncd.web.app import create_app
from tests.web_helpers import OPERATOR, SECRETS, TestClient, _hash, csrf_of

pytest.importorskip("syncd_afterbuy")
from syncd_afterbuy.testing import running_emulator


@pytest.fixture
def emulator():
    with running_emulator(12) as em:
        yield em


def test_upload_of_an_afterbuy_export_with_a_broken_row(tmp_path, emulator, document_sink,
                                                        syncd_plugin):
    data = {"engine": {"backoff_base": "10ms", "backoff_max": "50ms", "max_attempts": 3},
            "plugins": {"testing": {"enabled": True, "sink_url": document_sink.url},
                        "afterbuy": emulator.config_values(rate_limit=100)},
            "pipelines": [{"name": "afterbuy-web", "source": "afterbuy",
                           "targets": ["steps-sink"]}],
            "web": {"secret_key": SECRETS[0], "users": {OPERATOR[0]: {
                "password_hash": _hash(OPERATOR[1]), "role": "operator"}}}}
    (tmp_path / "syncd.toml").write_text(tomli_w.dumps(data))
    config = load_config(tmp_path / "syncd.toml", load_plugins(extra=[syncd_plugin]).registry)
    store = Store.open(config.database_url)
    app = create_app(config, store, build_host(config, [syncd_plugin]))
    client = TestClient(app, base_url="http://127.0.0.1")
    r = client.post("/login", data={"username": OPERATOR[0], "password": OPERATOR[1],
                                    "csrf": csrf_of(client.get("/login").text)})
    lines = emulator.export.data.decode().splitlines(keepends=True)
    lines[2] = lines[2].replace(";02.11.2026;", ";31.02.2026;", 1)
    r = client.post("/upload", data={"csrf": csrf_of(r.text), "pipeline": "afterbuy-web"},
                    files={"file": ("kaputt.csv", "".join(lines).encode(), "text/csv")})
    job = r.url.path
    deadline = time.monotonic() + 60
    while client.get(job + ".json").json()["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    page = client.get(job).text
    assert "Accepted documents: <strong>11</strong>" in page
    assert "Rejected rows: 1" in page
    assert "kaputt.csv (inbox 1):3: column &#39;Rechnungsdatum&#39;: &#39;31.02.2026&#39;" in page
    errors = client.get("/documents/error", params={"pipeline": "afterbuy-web"}).text
    assert "10001" in errors
    app.state.web.close()
    store.close()
