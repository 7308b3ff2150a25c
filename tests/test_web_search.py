"""The lists' search through the indexed columns (migration 0005) on SQLite and PostgreSQL:
number, order id, buyer name and company prefixes, revisions, the backfill of old rows."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command

from syncd.model import Buyer, DocumentKind, Line, References, build_document
from syncd.store import Store
from syncd.store.database import alembic_config, create_engine
from syncd.store.schema import documents
from syncd.web import lists


def doc(key: str, *, name: str | None = None, company: str | None = None,
        order: str | None = None, number: str | None = None, net: str = "10.00"):
    return build_document(kind=DocumentKind.INVOICE, source="synthetic", source_key=key,
                          currency="EUR", number=number, buyer=Buyer(name=name, company=company),
                          references=References(order_id=order),
                          lines=[Line(description="Widget", net=Decimal(net),
                                      vat_rate=Decimal("0.19"),
                                      vat=(Decimal(net) * Decimal("0.19")).quantize(
                                          Decimal("0.01")),
                                      gross=Decimal(net) + (Decimal(net) * Decimal(
                                          "0.19")).quantize(Decimal("0.01")))])


@pytest.fixture
def store(state_url):
    s = Store.open(state_url)
    s.ingest("shop", "synthetic", ["t"], [
        doc("a", name="Jürgen  Straße", order="302-1111111-1111111", number="AB-1"),
        doc("b", name="Erika Muster", company="Müller GmbH", order="302-2222222-2222222"),
        doc("c", name="50% Rabatt", order="028-3333333-3333333"),
        doc("d", name="Jürgen Meier"),
    ], None, store_cursor=False)
    yield s
    s.close()


def keys(store, q: str, state: str = "waiting", **kw) -> list[str]:
    page = lists.list_documents(store, lists.ListFilter(state, q=q, sources=("synthetic",)),
                                **kw)
    return [r.source_key for r in page.rows]


def test_columns_are_filled_at_ingest(store):
    with store.engine.connect() as conn:
        rows = {r.source_key: (r.order_id, r.buyer_name, r.buyer_company) for r in conn.execute(
            sa.select(documents.c.source_key, documents.c.order_id, documents.c.buyer_name,
                      documents.c.buyer_company))}
    assert rows["a"] == ("302-1111111-1111111", "jürgen strasse", None)
    assert rows["b"] == ("302-2222222-2222222", "erika muster", "müller gmbh")


def test_search_by_number_order_id_name_and_company(store):
    assert keys(store, "AB-1") == ["a"]
    assert keys(store, "302-2222222-2222222") == ["b"]
    assert keys(store, "302-") == []  # order ids match exactly
    assert keys(store, "jürgen") == ["d", "a"]  # newest first
    assert keys(store, "  JÜRGEN   STRASSE ") == ["a"]  # casefolded, spaces collapsed
    assert keys(store, "Jürgen Straße") == ["a"]
    assert keys(store, "müller") == ["b"] and keys(store, "MÜLLER G") == ["b"]
    assert keys(store, "erika") == ["b"]
    assert keys(store, "muster") == []  # a prefix, not a substring
    assert keys(store, "jürgen", state="done") == []  # the list still applies


def test_wildcards_are_plain_characters(store):
    assert keys(store, "50%") == ["c"]
    assert keys(store, "5_%") == [] and keys(store, "%") == [] and keys(store, "_") == []


def test_a_revision_updates_the_search_columns(store):
    store.ingest("shop", "synthetic", ["t"], [doc("d", name="Karl Meier", net="12.00")], None,
                 store_cursor=False)
    assert keys(store, "karl") == ["d"]
    assert keys(store, "jürgen") == ["a"]


def test_search_pages_and_the_broad_prefix_path_agree(store, monkeypatch):
    store.ingest("shop", "synthetic", ["t"], [doc(f"m{i}", name=f"Mara {i}") for i in range(7)],
                 None, store_cursor=False)
    expected = [f"m{i}" for i in range(6, -1, -1)]

    def paged() -> list[str]:
        seen, key = [], None
        while True:
            page = lists.list_documents(store, lists.ListFilter("waiting", q="mara"),
                                        after=key, limit=3)
            seen.extend(r.source_key for r in page.rows)
            if page.next_key is None:
                return seen
            key = page.next_key

    assert paged() == expected
    monkeypatch.setattr(lists, "WINDOW", 2)
    assert paged() == expected
    monkeypatch.setattr(lists, "SEARCH_CAP", 1)  # every prefix counts as broad
    assert paged() == expected and keys(store, "müller") == ["b"]


def test_migration_0005_backfills_existing_documents(state_url):
    engine = create_engine(state_url)
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        command.upgrade(cfg, "0004")
        body = {"buyer": {"name": "Ève  Dupont", "company": "Café SARL"},
                "references": {"order_id": " 405-1 "}}
        now = "2026-01-01 00:00:00"
        for key, status, text in (("old", "ok", json.dumps(body)), ("bad", "rejected", None),
                                  ("bare", "ok", json.dumps({"buyer": {}}))):
            conn.execute(sa.text(
                "INSERT INTO documents (pipeline, source, source_key, status, revision, body, "
                "created_at, updated_at) VALUES ('p', 'synthetic', :k, :s, 1, :b, :t, :t)"),
                {"k": key, "s": status, "b": text, "t": now})
    engine.dispose()
    store = Store.open(state_url)  # migrates to the head
    try:
        with store.engine.connect() as conn:
            rows = {r.source_key: (r.order_id, r.buyer_name, r.buyer_company)
                    for r in conn.execute(sa.select(documents))}
        assert rows == {"old": ("405-1", "ève dupont", "café sarl"),
                        "bad": (None, None, None), "bare": (None, None, None)}
        assert keys(store, "CAFÉ") == ["old"] and keys(store, "405-1") == ["old"]
    finally:
        store.close()


def test_sqlite_pages_never_wait_for_the_writer(tmp_path):
    """The dashboard reads without BEGIN IMMEDIATE: a page is served while the daemon
    holds the write lock (it would otherwise wait for the lock's whole busy timeout)."""
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}")
    store.ingest("shop", "synthetic", ["t"], [doc("a", name="Anna")], None, store_cursor=False)
    got: list[list[str]] = []
    try:
        with store.tx() as conn:  # the writer's transaction: BEGIN IMMEDIATE taken
            conn.execute(documents.update().values(kind="invoice"))
            reader = threading.Thread(target=lambda: got.append(keys(store, "anna")), daemon=True)
            reader.start()
            reader.join(timeout=10)
            assert not reader.is_alive(), "the page waited for the write lock"
        assert got == [["a"]]
    finally:
        store.close()
