"""German and English: every template string has its German line; browser choice, switch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncd.web.i18n import GERMAN, Translator, pick_language
from tests.web_helpers import csrf_of, make_site

TEMPLATES = Path(__file__).resolve().parents[1] / "core" / "web" / "templates"


def _template_strings() -> set[str]:
    found = set()
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        found.update(re.findall(r'_\("((?:[^"\\]|\\.)*)"', text))
        found.update(re.findall(r"_\('((?:[^'\\]|\\.)*)'", text))
        # labels passed through a variable, e.g. ("waiting", "Waiting") in the nav
        found.update(re.findall(r'\("\w+", "([A-Z][^"]*)"\)', text))
        found.update(re.findall(r'"\w+": "([A-Z][^"]*)"', text))
    return found


def test_every_template_string_has_a_german_translation():
    strings = _template_strings()
    assert len(strings) > 60
    missing = sorted(s for s in strings if s not in GERMAN)
    assert not missing, missing


def test_states_and_result_words_are_translated():
    for word in ("waiting", "processing", "error", "done", "manual", "rejected", "running",
                 "finished", "failed", "interrupted", "new", "revised", "delivered",
                 "operator", "viewer"):
        assert word in GERMAN, word


@pytest.mark.parametrize(("header", "expected"), [
    ("de-DE,de;q=0.9,en;q=0.8", "de"), ("en-US,en;q=0.9", "en"), ("fr-FR", "en"),
    ("fr;q=0.9,de;q=0.5", "de"), ("", "en"), (None, "en"), ("de;q=abc", "de")])
def test_browser_language(header, expected):
    assert pick_language(header) == expected


def test_formats_follow_the_language():
    assert Translator("de").money("1234.5", "EUR") == "1.234,50\xa0€"
    assert Translator("en").money("1234.5", "EUR") == "€1,234.50"
    assert Translator("de").gettext("Run requested for {p}.", p="x") == "Lauf für x angestoßen."


def test_accept_language_and_the_switch(tmp_path, document_sink):
    site = make_site(tmp_path, document_sink.url, count=2)
    client = site.client()
    login = client.get("/login", headers={"accept-language": "de-DE,de;q=0.9"}).text
    assert "Anmelden" in login and '<html lang="de">' in login
    site.login(client=client)
    german = client.get("/documents/done", headers={"accept-language": "de"}).text
    assert "Fertig" in german and "Belegnummer" in german
    r = client.post("/language", data={"csrf": csrf_of(german), "lang": "en",
                                       "next": "/documents/done"},
                    headers={"accept-language": "de"})
    assert r.url.path == "/documents/done" and "Done" in r.text and "Fertig" not in r.text
    site.app.state.web.close()
