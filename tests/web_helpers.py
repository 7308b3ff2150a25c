"""A dashboard over a real store and engine for the web tests (HTTP and browser).

`make_site(tmp_path, sink_url)` writes a config with the testing plugin, two users (an
operator and a viewer) and secrets that must never appear on a page, runs one cycle so the
lists have content, and returns the app plus helpers to log in.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from syncd.config import Config, load_config
from syncd.engine import Engine
from syncd.engine.runtime import build_host
from syncd.model import CENT, Buyer, DocumentKind, Line, References, build_document
from syncd.plugins import PluginHost, load_plugins
from syncd.store import Store
from syncd.testing.config import render_config
from syncd.testing.plugin import PLUGIN
from syncd.web.app import create_app
from tests.web_csv_plugin import PLUGIN as CSV_PLUGIN

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
from starlette.testclient import TestClient  # noqa: E402

OPERATOR = ("erika", "erika-password-1")
VIEWER = ("viktor", "viktor-password-1")
SECRETS = ("SESSION-KEY-must-never-show-0123456789abcdef", "amzn-CLIENT-SECRET-never-shown",
           "Atzr|REFRESH-TOKEN-never-shown")
EVIL = '<script>alert("pwned")</script>'
_HASHES: dict[str, str] = {}


def _hash(password: str) -> str:
    """argon2id with the cheapest parameters: a login costs ~0.5 s with the real ones here,
    and the hash carries its parameters, so verification takes the same code path."""
    if password not in _HASHES:
        _HASHES[password] = PasswordHasher(time_cost=1, memory_cost=1024,
                                           parallelism=1).hash(password)
    return _HASHES[password]


@dataclass
class Site:
    config: Config
    store: Store
    host: PluginHost
    app: Any

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="http://127.0.0.1")

    def login(self, who: tuple[str, str] = OPERATOR, client: TestClient | None = None
              ) -> TestClient:
        client = client or self.client()
        token = csrf_of(client.get("/login").text)
        r = client.post("/login", data={"username": who[0], "password": who[1],
                                        "csrf": token, "next": "/"})
        assert r.status_code == 200 and r.url.path == "/", r.text[:300]
        return client

    def engine(self) -> Engine:
        return Engine(self.config, self.store, host=self.host)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def config_text(sink_url: str, *, count: int = 12, users: bool = True, web: str = "",
                company: str = "", state_url: str | None = None, **plugin: Any) -> str:
    text = f"[company]\n{company}\n" if company else ""
    text += render_config(plugin={"sink_url": sink_url, "count": count, **plugin},
                         engine={"backoff_base": "10ms", "max_attempts": 2},
                         # PostgreSQL's pull lock is database-wide: a name no other test uses
                         pipelines=[{"name": "webshop", "source": "synthetic",
                                     "targets": ["sink"]},
                                    {"name": "uploads", "source": "webcsv",
                                     "targets": ["sink"]}],
                         state_url=state_url)
    text += ('[plugins.amazon]\nenabled = true\nclient_id = "amzn1.application-oa2-client.x"\n'
             f'client_secret = "{SECRETS[1]}"\nrefresh_token = "{SECRETS[2]}"\n'
             'marketplace_ids = ["A1PA6795UKMFR9"]\n\n')
    text += "[plugins.webcsv]\nenabled = true\n\n"
    text += f'[web]\nsecret_key = "{SECRETS[0]}"\n{web}\n'
    if users:
        for (name, password), role in ((OPERATOR, "operator"), (VIEWER, "viewer")):
            text += (f'[web.users.{name}]\npassword_hash = "{_hash(password)}"\n'
                     f'role = "{role}"\n\n')
    return text


def evil_document(key: str = "evil-1") -> Any:
    net = Decimal("10.00")
    vat = (net * Decimal("0.19")).quantize(CENT)
    return build_document(kind=DocumentKind.INVOICE, source="synthetic", source_key=key,
                          currency="EUR", buyer=Buyer(name=EVIL),
                          references=References(order_id="302-1234567-7654321"),
                          lines=[Line(description=EVIL, net=net, vat_rate=Decimal("0.19"),
                                      vat=vat, gross=net + vat)])


def make_site(folder: Path, sink_url: str, *, run: bool = True, **options: Any) -> Site:
    path = folder / "syncd.toml"
    path.write_text(config_text(sink_url, **options))
    config = load_config(path, load_plugins(extra=[PLUGIN, CSV_PLUGIN]).registry)
    store = Store.open(config.database_url)
    host = build_host(config, [PLUGIN, CSV_PLUGIN])
    if run:
        engine = Engine(config, store, host=host)
        engine.run_cycle(config.settings.pipelines[0])
        engine.close()
    return Site(config, store, host, create_app(config, store, host))
