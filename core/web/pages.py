"""The pages an operator reads: overview, lists, a document, reloads, events, system."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncd.daemon import next_runs
from syncd.errors import SyncdError
from syncd.log import masker
from syncd.store import NotFound, utcnow
from syncd.web import lists, queries, reads
from syncd.web.app import page, require, web
from syncd.web.charts import day_chart

PAGE_SIZE = 50


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


async def overview(request: Request) -> Response:
    require(request)
    w = web(request)

    def load() -> dict[str, Any]:
        aggregates = w.counts()
        counts = aggregates.per_pipeline([p.name for p in w.config.settings.pipelines])
        runs = w.store.runs()
        upcoming = next_runs(w.config, w.store)
        warnings = w.warnings()
        controls = w.store.controls()
        cursors = {(c.pipeline, c.source): c.cursor for c in w.store.cursors()}
        rows = []
        for p in w.config.settings.pipelines:
            c = counts.get(p.name, {})
            run = runs.get(p.name)
            rows.append({
                "name": p.name, "source": p.source, "targets": p.targets,
                "enabled": p.enabled, "schedule": p.schedule,
                "waiting": c.get("waiting", 0) + c.get("processing", 0) + c.get("repull", 0),
                "error": c.get("error", 0) + c.get("rejected", 0),
                "done": c.get("done", 0), "manual": c.get("manual", 0),
                "last_run": run.last_finished_at if run else None,
                "next_run": upcoming.get(p.name), "warnings": warnings.get(p.name, []),
                "job": w.jobs.busy(p.name),
                "paused": bool(controls.get(p.name) and controls[p.name].paused),
                "cursor": cursors.get((p.name, p.source)),
                "summary": run.last_summary if run else None,
            })
        return {"pipelines": rows, "chart": day_chart(aggregates.snapshot().per_day)}

    return page(request, "overview.html", **await run_in_threadpool(load))


async def document_list(request: Request) -> Response:
    require(request)
    w = web(request)
    state = request.path_params["state"]
    if state not in lists.LISTS:
        raise HTTPException(404)
    qp = request.query_params
    flt = lists.ListFilter(state=state, q=qp.get("q", "")[:200],
                             pipeline=qp.get("pipeline", "")[:200],
                             target=qp.get("target", "")[:200],
                             since=_date(qp.get("from")), until=_date(qp.get("to")),
                             sources=tuple({p.source for p in w.config.settings.pipelines}))
    result = await run_in_threadpool(lists.list_documents, w.store, flt,
                                     after=_int(qp.get("after")), before=_int(qp.get("before")),
                                     limit=PAGE_SIZE)
    pipelines = w.config.settings.pipelines
    targets = sorted({t for p in pipelines for t in p.targets})
    keep = {k: v for k, v in (("q", flt.q), ("pipeline", flt.pipeline),
                              ("target", flt.target), ("from", qp.get("from", "")),
                              ("to", qp.get("to", ""))) if v}
    return page(request, "list.html", state=state, flt=flt, result=result, keep=keep,
                pipelines=[p.name for p in pipelines], targets=targets,
                since=qp.get("from", ""), until=qp.get("to", ""))


async def document(request: Request) -> Response:
    require(request)
    w = web(request)
    doc_id = request.path_params["doc_id"]
    try:
        detail = await run_in_threadpool(w.store.document_detail, doc_id)
    except NotFound:
        raise HTTPException(404) from None
    body = detail["document"] or {}
    events, _ = await run_in_threadpool(
        queries.list_events, w.store, queries.EventFilter(document_id=doc_id), limit=200)
    linked = await run_in_threadpool(_linked, w, detail)
    number, _issued = _number(detail)
    return page(request, "document.html", d=detail, doc=body, events=events, linked=linked,
                number=number or body.get("number"),
                raw=json.dumps(body, indent=2, ensure_ascii=False),
                can_render=_renderer_for(w, detail["pipeline"]) is not None)


def _number(detail: dict[str, Any]) -> tuple[str | None, str | None]:
    """The allocated number and issue date: the document's (spine v2), else a delivery's."""
    if detail.get("number"):
        return detail["number"], detail.get("issue_date")
    for d in detail["deliveries"]:
        if d.get("number"):
            return d["number"], d.get("issue_date")
    return None, None


def _linked(w: Any, detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The documents this one links to (credit note -> invoice -> order), with their ids;
    a link by references (`LinkMatch`) resolved as the engine resolves it."""
    import sqlalchemy as sa

    from syncd.model import Link
    from syncd.store.links import match_of, matched_keys, named
    from syncd.store.schema import documents

    out = []
    for raw in (detail["document"] or {}).get("links", []):
        link = Link.model_validate(raw)
        source = link.source or detail["source"]
        with reads.connect(w.store) as conn:
            key = link.source_key
            if link.match is not None:
                wanted = match_of(link, source)
                key = matched_keys(conn, {wanted}).get(wanted)
            found = conn.execute(sa.select(documents.c.id).where(
                documents.c.source == source, documents.c.source_key == key)).scalar(
                ) if key else None
        out.append({**raw, "source": source, "id": found,
                    "source_key": key or f"? ({named(link)})"})
    return out


def _renderer_for(w: Any, pipeline: str) -> Any:
    from syncd.engine.runtime import build_renderer

    try:
        settings = w.config.pipeline(pipeline)
    except Exception:
        return None
    return build_renderer(w.config, w.host, settings)


async def document_json(request: Request) -> Response:
    require(request)
    try:
        detail = await run_in_threadpool(web(request).store.document_detail,
                                         request.path_params["doc_id"])
    except NotFound:
        raise HTTPException(404) from None
    return JSONResponse(detail["document"], headers={
        "Content-Disposition": f'attachment; filename="document-{detail["id"]}.json"'})


async def document_pdf(request: Request) -> Response:
    """The PDF: an attachment the source sent, else rendered the way the targets get it."""
    require(request)
    w = web(request)
    doc_id = request.path_params["doc_id"]
    try:
        data = await run_in_threadpool(_pdf_bytes, w, doc_id)
    except SyncdError as exc:  # e.g. no [company] to print as the seller: say why
        return page(request, "message.html", status_code=409,
                    message=masker().mask(str(exc)))
    if data is None:
        raise HTTPException(404)
    disposition = "attachment" if request.query_params.get("download") else "inline"
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'{disposition}; filename="document-{doc_id}.pdf"',
        "Content-Security-Policy": "frame-ancestors 'self'", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store"})


def _attachment_bytes(w: Any, doc_id: int, att: Any) -> bytes | None:
    """Inline bytes, the content-addressed blob, or what the engine fetched for a url."""
    import sqlalchemy as sa

    from syncd.store.schema import fetches

    if att.data is not None:
        return att.data
    digest = att.sha256
    if digest is None and att.url:
        with reads.connect(w.store) as conn:
            digest = conn.execute(sa.select(fetches.c.sha256).where(
                fetches.c.document_id == doc_id, fetches.c.url == att.url)).scalar()
    return w.store.blob(digest) if digest else None


def _stored_document(w: Any, doc_id: int) -> tuple[dict[str, Any], Any] | None:
    from syncd.model import Document

    try:
        detail = w.store.document_detail(doc_id)
    except NotFound:
        return None
    if not detail["document"]:
        return None
    return detail, Document.model_validate(detail["document"])


def _pdf_bytes(w: Any, doc_id: int) -> bytes | None:
    from syncd.model import AttachmentRole

    found = _stored_document(w, doc_id)
    if found is None:
        return None
    detail, doc = found
    for att in doc.attachments:
        if att.role == AttachmentRole.PDF:
            data = _attachment_bytes(w, doc_id, att)
            if data is not None:
                return data
    renderer = _renderer_for(w, detail["pipeline"])
    if renderer is None:
        return None
    number, issued = _number(detail)
    if number and not doc.number:
        doc = doc.with_number(number, issue_date=date.fromisoformat(issued) if issued else None)
    from syncd.render.archive import ArchivedRenderer

    # the file as the targets got it; a document not rendered yet gets a preview (not kept)
    sent = ArchivedRenderer(renderer, w.store).archived(doc)
    return sent if sent is not None else renderer.render(doc)


async def attachment(request: Request) -> Response:
    """One of the document's attachments by its position: never by a name or path."""
    require(request)
    w = web(request)
    doc_id, index = request.path_params["doc_id"], request.path_params["index"]

    def load() -> tuple[Any, bytes | None] | None:
        found = _stored_document(w, doc_id)
        if found is None or index >= len(found[1].attachments):
            return None
        att = found[1].attachments[index]
        return att, _attachment_bytes(w, doc_id, att)

    try:
        got = await run_in_threadpool(load)
    except SyncdError as exc:
        return page(request, "message.html", status_code=409, message=masker().mask(str(exc)))
    if got is None or got[1] is None:
        raise HTTPException(404)
    att, data = got
    inline = att.media_type == "application/pdf" and not request.query_params.get("download")
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in att.filename)[:120]
    return Response(data, media_type=att.media_type, headers={
        "Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{safe}"',
        "Content-Security-Policy": "sandbox; frame-ancestors 'self'" if not inline
        else "frame-ancestors 'self'", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store"})


async def reload_page(request: Request) -> Response:
    require(request)
    w = web(request)
    qp = request.query_params
    names = [p.name for p in w.config.settings.pipelines]
    chosen = qp.get("pipeline") if qp.get("pipeline") in names else (names[0] if names else "")
    today = utcnow().date()
    start = _date(qp.get("from")) or today - timedelta(days=60)
    end = _date(qp.get("to")) or today
    days = await run_in_threadpool(queries.days_by_kind, w.store, chosen, start, end) \
        if chosen else []
    return page(request, "reload.html", pipelines=names, chosen=chosen, start=start, end=end,
                days=days, jobs=w.jobs.recent())


async def job_page(request: Request) -> Response:
    require(request)
    w = web(request)
    job = w.jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404)
    rejected = []
    if job.kind == "import" and job.state != "running":
        rejected = await run_in_threadpool(queries.rejected_since, w.store, job.pipeline,
                                           job.events_after)
    return page(request, "job.html", job=job, rejected=rejected)


async def upload_page(request: Request) -> Response:
    require(request)
    w = web(request)
    names = [p.name for p in w.config.settings.pipelines if p.enabled]
    chosen = request.query_params.get("pipeline")
    return page(request, "upload.html", pipelines=names,
                chosen=chosen if chosen in names else (names[0] if names else ""),
                jobs=[j for j in w.jobs.recent(20) if j.kind == "import"])


async def job_json(request: Request) -> Response:
    require(request)
    job = web(request).jobs.get(request.path_params["job_id"])
    if job is None:
        raise HTTPException(404)
    return JSONResponse(job.as_dict())


async def events_page(request: Request) -> Response:
    require(request)
    w = web(request)
    qp = request.query_params

    def moment(key: str) -> datetime | None:
        try:
            return datetime.fromisoformat(qp[key]) if qp.get(key) else None
        except ValueError:
            return None

    flt = queries.EventFilter(pipeline=qp.get("pipeline", "")[:200],
                              kind=qp.get("kind", "")[:40], actor=qp.get("actor", "")[:200],
                              since=moment("since"), until=moment("until"))
    rows, next_key = await run_in_threadpool(queries.list_events, w.store, flt,
                                             after=_int(qp.get("after")))
    choices = await run_in_threadpool(queries.event_choices, w.store)
    keep = {k: qp[k] for k in ("pipeline", "kind", "actor", "since", "until") if qp.get(k)}
    return page(request, "events.html", rows=rows, next_key=next_key, flt=flt, keep=keep,
                pipelines=[p.name for p in w.config.settings.pipelines], **choices,
                since=qp.get("since", ""), until=qp.get("until", ""))


async def system(request: Request) -> Response:
    require(request)
    w = web(request)
    plugins = sorted(w.host.plugins.values(), key=lambda p: p.name)
    effective = w.config.redacted()
    return page(request, "system.html", plugins=plugins,
                effective=json.dumps(effective, indent=2, ensure_ascii=False, default=str))


def routes() -> list[Route]:
    return [
        Route("/", overview),
        Route("/documents/{state:str}", document_list),
        Route("/document/{doc_id:int}", document),
        Route("/document/{doc_id:int}/pdf", document_pdf),
        Route("/document/{doc_id:int}/json", document_json),
        Route("/document/{doc_id:int}/attachments/{index:int}", attachment),
        Route("/reload", reload_page),
        Route("/reload/jobs/{job_id:int}", job_page),
        Route("/reload/jobs/{job_id:int}.json", job_json),
        Route("/upload", upload_page),
        Route("/events", events_page),
        Route("/system", system),
    ]
