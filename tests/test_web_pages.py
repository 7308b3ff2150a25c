"""Each dashboard page and action over HTTP, against a real store, engine and sink."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest

from syncd.store import utcnow
from syncd.web import lists, pages, queries
from tests.web_helpers import csrf_of, evil_document, make_site


@pytest.fixture
def site(tmp_path, document_sink):
    s = make_site(tmp_path, document_sink.url, count=12, reject_keys=["doc-000002"])
    yield s
    s.app.state.web.close()
    s.store.close()


def _ids(html):
    return [int(i) for i in re.findall(r'name="id" value="(\d+)"', html)]


def _act(client, action, ids, back="/documents/error"):
    page = client.post("/actions/confirm", data={"csrf": csrf_of(client.get(back).text),
                                                 "action": action, "id": ids, "back": back})
    assert page.status_code == 200 and "Confirm" in page.text
    return client.post("/actions/apply", data={"csrf": csrf_of(page.text), "action": action,
                                               "id": ids, "back": back, "confirmed": "yes"})


def test_overview_counts_chart_and_run_now(site, document_sink):
    client = site.login()
    page = client.get("/").text
    assert 'data-pipeline="webshop"' in page and "synthetic → sink" in page
    assert ">11</a>" in page and ">1</a>" in page  # 11 done, 1 rejected in the error column
    assert page.count('class="s-done"') == 1 and "<svg" in page  # today's bar of 30
    assert 'Cursor: {"offset": 12}' in page
    r = client.post("/pipelines/webshop/run", data={"csrf": csrf_of(page)})
    assert "Run requested for webshop." in r.text
    job = site.app.state.web.jobs.recent()[0]
    _wait(lambda: job.state != "running")
    assert job.state == "finished" and job.result["new"] == 0
    (event,) = [e for e in site.store.events() if e["kind"] == "run-requested"]
    assert event["actor"] == "erika" and event["pipeline"] == "webshop"
    assert client.post("/pipelines/nope/run", data={"csrf": csrf_of(page)}).status_code == 404


def _wait(done, timeout=20.0):
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_lists_search_filters_and_keyset_paging(site, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 5)
    client = site.login()
    first = client.get("/documents/done").text
    assert _ids(first) == [11, 10, 9, 8, 7]  # 12 is the rejected doc-000002
    older = re.search(r'rel="next" href="\?([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(f"/documents/done?{older}").text
    assert _ids(second) == [6, 5, 4, 3, 2]
    newer = re.search(r'rel="prev" href="\?([^"]+)"', second).group(1).replace("&amp;", "&")
    assert _ids(client.get(f"/documents/done?{newer}").text) == [11, 10, 9, 8, 7]
    number = site.store.document_detail(5)["number"]
    assert _ids(client.get("/documents/done", params={"q": number}).text) == [5]
    assert _ids(client.get("/documents/done", params={"q": "doc-000007"}).text) == [7]
    assert _ids(client.get("/documents/done", params={"pipeline": "other"}).text) == []
    assert len(_ids(client.get("/documents/done", params={"target": "sink"}).text)) == 5
    assert _ids(client.get("/documents/done", params={"from": "2099-01-01"}).text) == []
    assert "No documents." in client.get("/documents/manual").text
    assert client.get("/documents/bogus").status_code == 404


def test_search_by_order_id_and_buyer(site):
    site.store.ingest("webshop", "synthetic", ["sink"], [evil_document("order-doc")], None,
                      store_cursor=False)
    page = lists.list_documents(site.store, lists.ListFilter("waiting",
                                                                 q="302-1234567-7654321"))
    assert [r.source_key for r in page.rows] == ["order-doc"]
    assert page.rows[0].order_id == "302-1234567-7654321"
    by_buyer = lists.list_documents(site.store, lists.ListFilter("waiting", q="<SCRIPT"))
    assert [r.source_key for r in by_buyer.rows] == ["order-doc"]
    assert lists.list_documents(site.store, lists.ListFilter("waiting", q="302-")).rows == []


def test_reset_and_mark_manual_from_the_list(site):
    client = site.login()
    (rejected,) = _ids(client.get("/documents/error").text)
    r = _act(client, "reset", [rejected])
    assert "waits for the source to send it again" in r.text
    assert _ids(client.get("/documents/waiting").text) == [rejected]
    r = _act(client, "manual", [rejected], back="/documents/waiting")
    assert "marked manually imported" in r.text
    assert _ids(client.get("/documents/manual").text) == [rejected]
    actors = {(e["kind"], e["actor"]) for e in site.store.events()}
    assert {("reset", "erika"), ("manual", "erika")} <= actors
    r = client.post("/actions/confirm", data={"csrf": csrf_of(r.text), "action": "reset",
                                              "back": "/documents/error"})
    assert "Select at least one document." in r.text
    r = client.post("/actions/apply", data={"csrf": csrf_of(r.text), "action": "reset",
                                            "id": [rejected]})
    assert r.status_code == 400  # never without the confirmation step


def test_resend_refused_while_the_target_has_it_then_sent(site, document_sink):
    client = site.login()
    r = _act(client, "resend", [5], back="/documents/done")
    assert "refusing to send it twice" in r.text
    document_sink.remove("synthetic:doc-000005")
    r = _act(client, "resend", [5], back="/documents/done")
    assert "sent again to sink" in r.text
    assert [e["actor"] for e in site.store.events() if e["kind"] == "resend"] == ["erika"] * 2


def test_document_page_json_and_missing_pdf(site):
    client = site.login()
    page = client.get("/document/1").text
    for text in ("doc-000000", "Item 0", "attempts", "deliver", "Raw JSON", "INV-"):
        assert text in page, text
    assert "10,00" not in page and "€10.00" in page  # English money format
    body = client.get("/document/1/json")
    assert body.json()["source_key"] == "doc-000000"
    assert body.headers["content-disposition"].startswith("attachment")
    r = client.get("/document/1/pdf")  # no [company]: the seller is missing, said so
    assert r.status_code == 409 and "no [company] configured" in r.text
    assert client.get("/document/424242").status_code == 404


def test_pdf_inline_and_download(tmp_path, document_sink):
    site = make_site(tmp_path, document_sink.url, count=1, web="",
                     company='name = "Muster GmbH"\npostal_code = "10115"\n'
                             'city = "Berlin"\ncountry = "DE"\naddress = ["Str. 1"]\n'
                             'vat_ids = { DE = "DE123456789" }\n')
    client = site.login()
    inline = client.get("/document/1/pdf")
    assert inline.status_code == 200 and inline.content.startswith(b"%PDF")
    assert inline.headers["content-disposition"].startswith("inline")
    download = client.get("/document/1/pdf", params={"download": "1"})
    assert download.headers["content-disposition"].startswith("attachment")
    assert 'iframe class="pdf"' in client.get("/document/1").text


def test_events_filters(site):
    client = site.login()
    everything = client.get("/events").text
    assert "delivered" in everything and "erika" in everything  # the login event
    only = client.get("/events", params={"kind": "login"}).text
    assert "delivered to sink" not in only and "from testclient" in only
    assert "No events." in client.get("/events", params={"actor": "nobody"}).text
    assert "No events." in client.get("/events", params={"since": "2999-01-01T00:00"}).text


def test_system_page_lists_plugins_and_masked_config(site):
    page = site.login().get("/system").text
    assert "testing" in page and "amazon" in page and "**********" in page
    assert "sink_url" in page


def test_reload_with_progress_and_per_day_view(site):
    client = site.login()
    page = client.get("/reload", params={"pipeline": "webshop", "from": "2026-01-01",
                                         "to": "2026-01-31"}).text
    assert "2026" in page and "<td class=\"num\">1</td>" in page
    r = client.post("/reload", data={"csrf": csrf_of(page), "pipeline": "webshop",
                                     "from": "2026-01-01", "to": "2026-01-12"})
    job_path = r.url.path
    assert re.fullmatch(r"/reload/jobs/\d+", job_path) and "data-job" in r.text
    _wait(lambda: client.get(job_path + ".json").json()["state"] != "running")
    data = client.get(job_path + ".json").json()
    assert data["state"] == "finished" and data["documents"] == 12
    assert data["result"] == {"new": 0, "revised": 0, "unchanged": 11, "rejected": 1}
    assert "already known: 11" in client.get(job_path).text
    reloads = [e for e in site.store.events() if e["kind"] == "reload"]
    assert reloads and reloads[0]["actor"] == "erika"
    bad = client.post("/reload", data={"csrf": csrf_of(page), "pipeline": "webshop",
                                       "from": "2026-02-01", "to": "2026-01-01"})
    assert "is before" in bad.text


def test_days_by_kind_counts_each_document_once(site):
    days = queries.days_by_kind(site.store, "webshop", date(2026, 1, 1), utcnow().date())
    assert sum(d["total"] for d in days) == 12
    (today,) = [d for d in days if d["day"] == utcnow().date().isoformat()]
    assert today == {"day": today["day"], "kind": "-", "total": 1, "done": 0, "waiting": 0,
                     "error": 1, "manual": 0}  # the rejected one: no body, counted on arrival
    assert sum(d["done"] for d in days) == 11 and sum(d["error"] for d in days) == 1


CSV = b"order_id,buyer,net\n302-1,Erika,10.00\n302-2,Jan,zehn\n302-3,Sophie,5.50\n"


def test_csv_upload_answers_with_accepted_documents_and_rejected_rows(site):
    client = site.login()
    form = client.get("/upload").text
    assert 'enctype="multipart/form-data"' in form
    r = client.post("/upload", data={"csrf": csrf_of(form), "pipeline": "uploads"},
                    files={"file": ("rechnungen.csv", CSV, "text/csv")})
    job_path = r.url.path
    _wait(lambda: client.get(job_path + ".json").json()["state"] != "running")
    page = client.get(job_path).text
    assert "Accepted documents: <strong>2</strong>" in page
    assert "Rejected rows: 1" in page
    assert "rechnungen.csv line 3, column net: not an amount: &#39;zehn&#39;" in page
    (item,) = site.store.inbox_items("uploads")
    assert item.actor == "erika" and item.filename == "rechnungen.csv"
    again = client.post("/upload", data={"csrf": csrf_of(page), "pipeline": "uploads"},
                        files={"file": ("copy.csv", CSV, "text/csv")})
    assert "it is not read twice" in again.text
    empty = client.post("/upload", data={"csrf": csrf_of(page), "pipeline": "uploads"},
                        files={"file": ("e.csv", b"", "text/csv")})
    assert "The file is empty." in empty.text
    sneaky = client.post("/upload", data={"csrf": csrf_of(page), "pipeline": "uploads"},
                         files={"file": ("../../etc/x.csv", b"order_id,buyer,net\n", "text/csv")})
    assert sneaky.status_code == 200
    assert [i.filename for i in site.store.inbox_items("uploads")][-1] == "x.csv"


def test_pause_and_resume(site):
    client = site.login()
    page = client.get("/").text
    r = client.post("/pipelines/webshop/pause", data={"csrf": csrf_of(page), "paused": "yes"})
    assert "webshop paused" in r.text and 'class="badge paused"' in r.text
    assert site.store.is_paused("webshop")
    r = client.post("/pipelines/webshop/run", data={"csrf": csrf_of(r.text)})
    job = site.app.state.web.jobs.recent()[0]
    _wait(lambda: job.state != "running")
    assert job.state == "paused"
    r = client.post("/pipelines/webshop/pause", data={"csrf": csrf_of(r.text), "paused": "no"})
    assert "webshop resumed." in r.text and not site.store.is_paused("webshop")
    kinds = [(e["kind"], e["actor"]) for e in site.store.events() if e["actor"] == "erika"]
    assert ("paused", "erika") in kinds and ("resumed", "erika") in kinds


def test_attachments_by_position_from_the_attachment_store(site):
    from syncd.model import Attachment, AttachmentRole

    pdf = b"%PDF-1.7 the source's own invoice"
    doc = evil_document("with-files").model_copy(update={"attachments": (
        Attachment(filename="R-1.pdf", media_type="application/pdf", data=pdf),
        Attachment(filename="../R-1.xml", media_type="application/xml",
                   role=AttachmentRole.EINVOICE, data=b"<Invoice/>"))})
    site.store.ingest("webshop", "synthetic", ["sink"], [doc], None, store_cursor=False)
    client = site.login()
    (doc_id,) = _ids(client.get("/documents/waiting", params={"q": "with-files"}).text)
    stored = site.store.document_detail(doc_id)["document"]["attachments"]
    assert all(a.get("data") is None and a["sha256"] for a in stored)  # moved to the store
    page = client.get(f"/document/{doc_id}").text
    assert f'href="/document/{doc_id}/attachments/1"' in page
    assert client.get(f"/document/{doc_id}/pdf").content == pdf  # the source's, not rendered
    xml = client.get(f"/document/{doc_id}/attachments/1")
    assert xml.content == b"<Invoice/>"
    assert xml.headers["content-disposition"] == 'attachment; filename=".._R-1.xml"'
    assert client.get(f"/document/{doc_id}/attachments/2").status_code == 404


def test_revised_list_and_the_diff(site):
    first = evil_document("rev-1")
    site.store.ingest("webshop", "synthetic", ["sink"], [first], None, store_cursor=False)
    engine = site.engine()
    engine.deliver(site.config.pipeline("webshop"))
    engine.close()
    changed = first.model_copy(update={"buyer": first.buyer.model_copy(
        update={"name": "Erika Mustermann"})})
    site.store.ingest("webshop", "synthetic", ["sink"], [changed], None, store_cursor=False)
    client = site.login()
    (doc_id,) = _ids(client.get("/documents/revised").text)
    page = client.get(f"/document/{doc_id}").text
    assert "Changed since it was delivered" in page and "Erika Mustermann" in page
    assert 'value="resend"' in client.get("/documents/revised").text


def test_document_page_resolves_links_by_references_as_the_engine_does(site):
    """A credit note linked by shipping id or by order (`LinkMatch`) shows its invoice."""
    from syncd.model import DocumentKind, Link, LinkKind, LinkMatch, References

    invoice = evil_document("inv-ship").model_copy(update={"references": References(
        order_id="302-5555555-0000001", shipping_id="409302382")})
    by_ship = evil_document("cn-ship").model_copy(update={
        "kind": DocumentKind.CREDIT_NOTE,
        "links": (Link(kind=LinkKind.INVOICE, match=LinkMatch(shipping_id="409302382")),)})
    by_order = evil_document("cn-order").model_copy(update={
        "kind": DocumentKind.CREDIT_NOTE,
        "links": (Link(kind=LinkKind.INVOICE,
                       match=LinkMatch(order_id="302-5555555-0000001")),)})
    unknown = evil_document("cn-unknown").model_copy(update={
        "kind": DocumentKind.CREDIT_NOTE,
        "links": (Link(kind=LinkKind.INVOICE, match=LinkMatch(shipping_id="999")),)})
    site.store.ingest("webshop", "synthetic", ["sink"], [invoice, by_ship, by_order, unknown],
                      None, store_cursor=False)
    ids = {d.source_key: d.id for d in site.store.list_documents()}
    client = site.login()
    for key in ("cn-ship", "cn-order"):
        page = client.get(f"/document/{ids[key]}").text
        assert f'<a href="/document/{ids["inv-ship"]}">synthetic:inv-ship</a>' in page, key
    page = client.get(f"/document/{ids['cn-unknown']}").text
    assert "synthetic:? (with shipping id 999)" in page
