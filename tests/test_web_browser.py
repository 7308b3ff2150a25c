"""The dashboard in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium).

Skipped, with the reason printed, only when no browser can run. `SYNCD_SCREENSHOTS=1` writes
the screenshots into docs/screenshots/ (committed, linked from docs/web.md); otherwise they
go to the test's temporary folder, so the test still proves every page renders.
"""

from __future__ import annotations

import os
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from syncd.model import CENT, Buyer, DocumentKind, Line, References, build_document
from syncd.web import pages
from syncd.web.server import WebThread
from tests.web_helpers import OPERATOR, VIEWER, make_site

CHROMIUM = os.environ.get("SYNCD_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
COMPANY = ('name = "Muster Handel GmbH"\npostal_code = "10115"\ncity = "Berlin"\n'
           'country = "DE"\naddress = ["Musterstraße 1"]\nvat_ids = { DE = "DE123456789" }\n')
BUYERS = ["Erika Mustermann", "Müller Bürobedarf GmbH", "Jan Kowalski", "Sophie Martin"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        print(f"SKIP: playwright is not installed ({exc})")
        pytest.skip("playwright is not installed")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        reason = f"no browser: {CHROMIUM} is missing (apt-get install chromium)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    with sync_playwright() as p:
        try:
            instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Error as exc:
            print(f"SKIP: chromium cannot start: {exc}")
            pytest.skip(f"chromium cannot start: {exc}")
        yield instance
        instance.close()


def _orders(count: int = 8):
    for i in range(count):
        net = Decimal("19.90") + Decimal(i * 7) * CENT * 10
        vat = (net * Decimal("0.19")).quantize(CENT)
        yield build_document(
            kind=DocumentKind.INVOICE, source="synthetic", source_key=f"order-{i:03d}",
            currency="EUR", buyer=Buyer(name=BUYERS[i % len(BUYERS)]),
            references=References(order_id=f"302-{1000000 + i * 7919}-{4400000 + i}"),
            lines=[Line(description=f"Notizbuch A5, {i + 1} Stück", quantity=Decimal(i + 1),
                        net=net, vat_rate=Decimal("0.19"), vat=vat, gross=net + vat)])


@pytest.fixture
def live(tmp_path, document_sink):
    site = make_site(tmp_path, document_sink.url, count=30, company=COMPANY,
                     reject_keys=["doc-000004", "doc-000011"])
    site.store.ingest("webshop", "synthetic", ["sink"], list(_orders()), None, store_cursor=False)
    engine = site.engine()
    engine.deliver(site.config.settings.pipelines[0])
    engine.close()
    thread = WebThread(site.config, site.store, site.host, port=0).start()
    yield site, thread.url
    thread.stop()
    site.store.close()


@pytest.fixture
def open_page(browser, live):
    contexts = []

    def make(who=OPERATOR, locale="en-US"):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10000)
        page.goto(f"{live[1]}/")
        page.fill("input[name=username]", who[0])
        page.fill("input[name=password]", who[1])
        page.click("button[type=submit]")
        page.wait_for_selector("table.pipelines")
        return page

    yield make
    for context in contexts:
        context.close()


def test_login_wrong_password_and_logout(browser, live):
    page = browser.new_page()
    page.goto(f"{live[1]}/documents/done")
    assert page.url.startswith(f"{live[1]}/login?next=")
    page.fill("input[name=username]", "erika")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "Wrong user name or password." in page.inner_text("[role=alert]")
    page.fill("input[name=username]", OPERATOR[0])
    page.fill("input[name=password]", OPERATOR[1])
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Done')")  # back where the login started
    page.click("#logout")
    page.wait_for_selector("form.login")
    page.goto(f"{live[1]}/")
    assert "/login" in page.url
    page.close()


def test_list_search_and_paging(open_page, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 10)
    page = open_page()
    page.click("nav >> text=Done")
    first = page.locator("table.documents tbody input[name=id]").count()
    assert first == 10
    page.click("a[rel=next]")
    page.wait_for_selector("a[rel=prev]")
    page.click("a[rel=next]")
    page.wait_for_selector("a[rel=prev]")
    assert page.locator("a[rel=next]").count() == 1  # 36 done documents: 4 pages of 10
    page.click("a[rel=next]")
    assert page.locator("table.documents tbody input[name=id]").count() == 6
    page.fill("input[name=q]", "Müller")
    page.click("form.filters button")
    buyers = page.locator("td.buyer").all_inner_texts()
    assert buyers == ["Müller Bürobedarf GmbH"] * 2
    page.fill("input[name=q]", "302-1007919-4400001")
    page.click("form.filters button")
    assert page.locator("table.documents tbody input[name=id]").count() == 1


def test_reset_and_mark_manual_from_the_page(open_page, live):
    page = open_page()
    page.click("nav >> text=Errors")
    boxes = page.locator("table.documents tbody input[name=id]")
    assert boxes.count() == 2
    boxes.nth(0).check()
    page.click("button[value=reset]")
    page.click("#confirm")
    assert "waits for the source to send it again" in page.inner_text("p.flash")
    assert page.locator("table.documents tbody input[name=id]").count() == 1
    page.check("input.select-all")  # the page's own JS ticks every box
    page.click("button[value=manual]")
    page.click("#confirm")
    assert "marked manually imported" in page.inner_text("p.flash")
    assert "No documents." in page.inner_text("main")
    actors = {e["actor"] for e in live[0].store.events() if e["kind"] in ("reset", "manual")}
    assert actors == {"erika"}


def test_resend_from_the_document_page(open_page, live, document_sink):
    page = open_page()
    page.click("nav >> text=Done")
    page.click("table.documents tbody tr >> nth=0 >> a")
    key = re.search(r"synthetic:(\S+)", page.inner_text("h1")).group(1)
    document_sink.remove(f"synthetic:{key}")
    page.click("button[value=resend]")
    assert "second time" in page.inner_text("main")
    page.click("#confirm")
    assert "sent again to sink" in page.inner_text("p.flash")


def test_run_now_and_reload_with_progress(open_page):
    page = open_page()
    page.click("tr[data-pipeline=webshop] button:has-text('Run now')")
    assert "Run requested for webshop." in page.inner_text("p.flash")
    page.click("nav >> text=Reload")
    page.fill("input[name=from]", "2026-01-01")
    page.fill("input[name=to]", "2026-01-31")
    page.click("form.filters button:has-text('Filter')")
    page.click("#start-reload")
    page.wait_for_selector(".job[data-state=finished]", timeout=20000)  # JS polled, reloaded
    assert "already known: 28" in page.inner_text(".job-result")


def test_csv_upload_shows_the_rejected_row(open_page, tmp_path):
    csv_file = tmp_path / "rechnungen.csv"
    csv_file.write_text("order_id,buyer,net\n302-1,Erika,10.00\n302-2,Jan,zehn\n")
    page = open_page()
    page.click("nav >> text=Upload")
    page.select_option("select[name=pipeline]", "uploads")
    page.set_input_files("input[name=file]", str(csv_file))
    page.click("#upload")
    page.wait_for_selector(".job[data-state=finished]", timeout=20000)
    assert "Accepted documents: 1" in page.inner_text(".accepted")
    assert "line 3, column net" in page.inner_text("table.rejected")


def test_pause_and_resume(open_page, live):
    page = open_page()
    page.click("tr[data-pipeline=webshop] button:has-text('Pause')")
    assert "webshop paused" in page.inner_text("p.flash")
    assert page.locator("tr[data-pipeline=webshop] button:has-text('Run now')").is_disabled()
    assert live[0].store.is_paused("webshop")
    page.click("tr[data-pipeline=webshop] button:has-text('Resume')")
    assert "webshop resumed." in page.inner_text("p.flash")
    assert not live[0].store.is_paused("webshop")


def test_german_and_english(open_page):
    page = open_page(locale="de-DE")
    assert "Übersicht" in page.inner_text("nav") and "Jetzt ausführen" in page.inner_text("main")
    page.click("nav >> text=Fehlerhaft")
    assert "Zurücksetzen" in page.inner_text("main")
    page.click("button[value=en]")
    assert "Reset" in page.inner_text("main") and "Errors" in page.inner_text("h1")
    page.click("button[value=de]")
    assert "Fehlerhaft" in page.inner_text("h1")


def test_viewer_cannot_act(open_page):
    page = open_page(VIEWER)
    assert page.locator("button:has-text('Run now')").count() == 0
    assert page.locator("button:has-text('Pause')").count() == 0
    assert "webshop" in page.inner_text("table.pipelines")
    page.click("nav >> text=Errors")
    assert page.locator("input[name=id]").count() == 0
    assert page.locator("button[name=action]").count() == 0
    page.click("nav >> text=Reload")
    assert page.locator("#start-reload").count() == 0
    page.click("nav >> text=Upload")
    assert page.locator("input[type=file]").count() == 0
    assert "your role is viewer" in page.inner_text("main")


def test_screenshots_of_the_main_pages(open_page, tmp_path):
    folder = SHOTS if os.environ.get("SYNCD_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page = open_page()
    shots = {"overview": "/", "errors": "/documents/error", "done": "/documents/done",
             "upload": "/upload",
             "document": None, "reload": "/reload?from=2026-01-01&to=2026-01-31",
             "events": "/events", "system": "/system"}
    base = page.url.rstrip("/")
    for name, path in shots.items():
        if path is None:
            page.goto(f"{base}/documents/done?q=Müller")
            page.click("table.documents tbody tr >> nth=0 >> a")
        else:
            page.goto(base + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(folder / f"{name}.png"), full_page=name != "done")
    csv_file = tmp_path / "rechnungen.csv"
    csv_file.write_text("order_id,buyer,net\n302-1,Erika,10.00\n302-2,Jan,zehn\n")
    page.goto(f"{base}/upload")
    page.select_option("select[name=pipeline]", "uploads")
    page.set_input_files("input[name=file]", str(csv_file))
    page.click("#upload")
    page.wait_for_selector(".job[data-state=finished]", timeout=20000)
    page.screenshot(path=str(folder / "upload-result.png"))
    page.goto(f"{base}/documents/waiting")
    page.click("button[value=de]")
    page.goto(f"{base}/")
    page.screenshot(path=str(folder / "overview-de.png"))
    assert all((folder / f"{n}.png").stat().st_size > 5000 for n in shots)
