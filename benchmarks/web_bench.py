"""Dashboard list-page latency at 1,000,000 documents, SQLite and PostgreSQL.

Setup bulk-loads documents, their deliveries, attempts and events straight into a migrated
store (97 % done, 1 % each error / waiting / manual, 0.5 % revised; a fifth of the buyers
are companies), the store's indexes built after the load, then ANALYZE (PostgreSQL: VACUUM
ANALYZE, what autovacuum does after a bulk load). The database is kept between runs
(SQLite: a file in --cache-dir; PostgreSQL: the database of --pg-url, created when absent)
and reused while its document count and format match.

Requests go over HTTP to the dashboard served by uvicorn on 127.0.0.1 (in a thread of
this process, as `syncd run --web` serves it; routing, query, template): first pages
of every list, deep pages by key (`?after=<id>` at random depths), filters, searches by
number, order id, buyer and buyer prefix, the overview and /metrics. Each line gives the
whole request's median and p99, the time spent in SQL calls (client side, round trips
included) and, on PostgreSQL, the server's own execution time of the same statements
(`EXPLAIN ANALYZE`, replayed for a sample of requests): where the time goes on a loaded
machine. The machine's load average is printed before and after each backend.

Baseline in the same run: the same deep page read with OFFSET instead of a key.
Goal: p99 < 100 ms per list page.

Usage: python benchmarks/web_bench.py [--documents 1000000] [--requests 200]
           [--backends sqlite,postgresql] [--pg-url URL] [--cache-dir DIR] [--fresh]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from web_bench_data import START, buyer_of, order_of, pg_database, prepare  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/syncd_webbench"
GOAL_MS = 100.0
EXPLAINED = 15  # requests per kind whose statements are replayed with EXPLAIN ANALYZE


@contextmanager
def _served(folder: Path, url: str) -> Iterator[tuple[Any, Any]]:
    """The dashboard served by uvicorn on 127.0.0.1 (as `syncd web` serves it, in a thread
    of this process) and a keep-alive HTTP client; local mode, so no login."""
    import httpx

    from syncd.config import load_config
    from syncd.engine.runtime import build_host
    from syncd.plugins import load_plugins
    from syncd.store import Store
    from syncd.testing.plugin import PLUGIN
    from syncd.web.server import WebThread

    (folder / "syncd.toml").write_text(
        f'[state]\nurl = "{url}"\n\n[plugins.testing]\nenabled = true\nsink_url = '
        '"http://127.0.0.1:9"\n\n[[pipelines]]\nname = "shop"\nsource = "synthetic"\n'
        'targets = ["noop"]\n')
    config = load_config(folder / "syncd.toml", load_plugins(extra=[PLUGIN]).registry)
    store = Store.open(url)
    server = WebThread(config, store, build_host(config, [PLUGIN]), bind="127.0.0.1",
                       port=0).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield store, client
    finally:
        server.stop()
        store.close()


class Recorder:
    """Per request: the time in the page's data function (queries and decoding the rows,
    what runs in the thread pool), the time in SQL calls (client side: psycopg fetches at
    execute, SQLite later, so only PostgreSQL's is whole) and the statements for EXPLAIN."""

    def __init__(self, engine: sa.Engine) -> None:
        from syncd.web import metrics, pages

        self.sql_ms = self.data_ms = 0.0
        self.statements: list[tuple[str, Any]] = []
        self.keep = False
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        run = pages.run_in_threadpool
        pages.run_in_threadpool = lambda f, *a, **k: run(self._timed(f), *a, **k)  # type: ignore
        metrics.render = self._timed(metrics.render)  # type: ignore[method-assign]

    def _timed(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.data_ms += (time.perf_counter() - t) * 1000
        return timed

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                many: bool) -> None:
        if threading.current_thread().name == "syncd-web-aggregates":
            return  # the background snapshot is no request's time
        conn.info["bench_t"] = time.perf_counter()
        if self.keep and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, params))

    def _after(self, conn: Any, *_: Any) -> None:
        started = conn.info.pop("bench_t", None)
        if started is not None:
            self.sql_ms += (time.perf_counter() - started) * 1000

    def start(self, keep: bool) -> None:
        self.sql_ms, self.data_ms, self.statements, self.keep = 0.0, 0.0, [], keep


def _server_ms(store: Any, statements: list[tuple[str, Any]]) -> float:
    """PostgreSQL's planning + execution time of the statements, by EXPLAIN ANALYZE."""
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        total = 0.0
        for statement, params in statements:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
            plan = cur.fetchone()[0][0]
            total += plan["Planning Time"] + plan["Execution Time"]
        raw.rollback()
        return total
    finally:
        raw.close()


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def _line(name: str, took: list[float], data: list[float], sql: list[float],
          server: list[float]) -> str:
    out = (f"  {name:28s} {statistics.median(took):6.1f} {_p(took, .99):6.1f} | data "
           f"{statistics.median(data):5.1f} {_p(data, .99):6.1f}")
    if server:
        out += (f" | SQL calls {statistics.median(sql):5.1f} {_p(sql, .99):6.1f} | server "
                f"{statistics.median(server):5.2f} {_p(server, .99):5.2f}")
    return out


def _kinds(rng: random.Random, count: int) -> dict[str, Callable[[], tuple[str, dict]]]:
    some = lambda: rng.randrange(1, count)  # noqa: E731
    day = lambda: (START + timedelta(seconds=some() * 20)).date().isoformat()  # noqa: E731
    return {
        **{f"first page: {s}": (lambda s=s: (f"/documents/{s}", {}))
           for s in ("done", "error", "waiting", "manual", "revised")},
        "deep page by key": lambda: (f"/documents/{rng.choice(['done', 'error', 'waiting'])}",
                                     {"after": some()}),
        "filter: target + from date": lambda: ("/documents/done",
                                               {"target": "lexoffice", "from": day()}),
        "filter: pipeline, error list": lambda: ("/documents/error", {"pipeline": "shop",
                                                                      "after": some()}),
        "filter matching nothing": lambda: ("/documents/done", {"from": "2027-01-01"}),
        "search: number": lambda: ("/documents/done", {"q": f"INV-2026-{some():07d}"}),
        "search: order id": lambda: ("/documents/done", {"q": order_of(some())}),
        "search: buyer": lambda: ("/documents/done", {"q": buyer_of(some())[0].lower()}),
        "search: buyer prefix": lambda: ("/documents/done",
                                         {"q": f"Buyer {rng.randrange(100, 500)}"}),
        "search: company, error list": lambda: ("/documents/error", {"q": "firma 12"}),
    }


def _measure(store: Any, client: Any, rec: Recorder, make: Callable[[], tuple[str, dict]],
             n: int, explain: bool) -> tuple[list[float], ...]:
    took: list[float] = []
    data: list[float] = []
    sql: list[float] = []
    server: list[float] = []
    for i in range(n):
        path, params = make()
        rec.start(keep=explain and i < EXPLAINED)
        t = time.perf_counter()
        r = client.get(path, params=params)
        took.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (path, params, r.status_code)
        sql.append(rec.sql_ms)
        data.append(rec.data_ms)
        if rec.keep:
            server.append(_server_ms(store, rec.statements))
    return took, data, sql, server


def _offset_baseline(store: Any, count: int, rng: random.Random, n: int) -> list[float]:
    """The same deep 'done' page fetched with OFFSET (what keyset paging avoids)."""
    from syncd.store.schema import deliveries, documents

    def has(*states: str) -> Any:
        return sa.exists().where(deliveries.c.document_id == documents.c.id,
                                 deliveries.c.state.in_(states))

    done = sa.and_(documents.c.status == "ok", has("done"),
                   ~has("error", "manual", "revised", "waiting", "processing"))
    out = []
    with store.engine.connect() as conn:
        for _ in range(n):
            offset = rng.randrange(count // 2, count - 100)
            t = time.perf_counter()
            conn.execute(sa.select(documents.c.id).where(done)
                         .order_by(documents.c.id.desc()).offset(offset).limit(50)).all()
            out.append((time.perf_counter() - t) * 1000)
    return out


def _load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run(backend: str, url: str, count: int, requests: int, fresh: bool) -> None:
    from syncd.web.server import settle

    print(f"{backend}: {count:,} documents ({_load()})", flush=True)
    prepare(url, count, fresh)
    with tempfile.TemporaryDirectory() as tmp, _served(Path(tmp), url) as (store, client):
        rec = Recorder(store.engine)
        rng = random.Random(7)
        for path in ("/documents/done", "/", "/metrics"):
            client.get(path)  # warm caches and templates
        settle()  # as `syncd web` does before serving
        explain = backend == "postgresql"
        print(f"  {'median / p99 in ms':28s} request     | data (queries + rows)"
              + (" | SQL calls, client | server (EXPLAIN ANALYZE)" if explain else ""))
        every: list[float] = []
        for name, make in _kinds(rng, count).items():
            took, *rest = _measure(store, client, rec, make,
                                   requests // 4 if "first" in name else requests, explain)
            every.extend(took)
            print(_line(name, took, *rest), flush=True)
        for name, path in (("overview (counts, chart)", "/"), ("/metrics", "/metrics")):
            took, *rest = _measure(store, client, rec, lambda p=path: (p, {}),
                                   max(10, requests // 4), explain)
            print(_line(name, took, *rest), flush=True)
        from syncd.web.stats import take_snapshot

        t = time.perf_counter()
        take_snapshot(store)
        took_ms = (time.perf_counter() - t) * 1000
        print(f"  snapshot for done counts, chart, metrics (in the background, at most every "
              f"30 s while the overview or /metrics is read): {took_ms:.0f} ms")
        baseline = _offset_baseline(store, count, rng, max(5, requests // 20))
        p99, median = _p(every, .99), statistics.median(every)
        print(f"  baseline: deep page by OFFSET, query alone: median "
              f"{statistics.median(baseline):.1f} ms, p99 {_p(baseline, .99):.1f} ms")
        print(f"  all list pages: median {median:.1f} ms, p99 {p99:.1f} ms; goal p99 < "
              f"{GOAL_MS:.0f} ms: {'met' if p99 < GOAL_MS else 'MISSED'}; keyset page (whole "
              f"request) vs OFFSET query median: {statistics.median(baseline) / median:.0f}x")
        print(f"  ({_load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=PG_DEFAULT,
                        help="a database of its own: the benchmark fills it and keeps it")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path.home() / ".cache" / "syncd-web-bench")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached databases")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            args.cache_dir.mkdir(parents=True, exist_ok=True)
            path = args.cache_dir / f"web-bench-{args.documents}.db"
            run("sqlite", f"sqlite:///{path}", args.documents, args.requests, args.fresh)
        elif backend == "postgresql" and pg_database(args.pg_url):
            run("postgresql", args.pg_url, args.documents, args.requests, args.fresh)


if __name__ == "__main__":
    main()
