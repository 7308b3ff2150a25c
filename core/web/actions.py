"""What an operator changes: reset, mark manual, resend, run now, reload.

Each action calls the function the CLI calls (`Store.reset`, `Store.mark_manual`,
`Engine.resend`, `Engine.run_cycle`, `Engine.reload`) with the web user as the actor, so the
event log says who did it. Bulk actions ask for confirmation on a page of their own, which
works without JavaScript; only operators get past `checked_form`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from syncd.errors import SyncdError
from syncd.store import NotFound
from syncd.web.app import checked_form, flash, page, safe_next, translator, web
from syncd.web.queries import last_event_id

ACTIONS = ("reset", "manual", "resend")
MAX_IDS = 500


def _ids(form: Any) -> list[int]:
    ids = []
    for value in form.getlist("id")[:MAX_IDS]:
        if not str(value).isdigit() or len(str(value)) > 18:
            raise HTTPException(400, "bad id")
        ids.append(int(value))
    return list(dict.fromkeys(ids))


async def confirm(request: Request) -> Response:
    """Step one: show what will happen to which documents."""
    _user, form = await checked_form(request)
    action = str(form.get("action", ""))
    back = safe_next(str(form.get("back", "/")))
    if action not in ACTIONS:
        raise HTTPException(400, "bad action")
    ids = _ids(form)
    if not ids:
        flash(request, translator(request).gettext("Select at least one document."),
              level="error")
        return RedirectResponse(back, 303)
    return page(request, "confirm.html", action=action, ids=ids, back=back)


async def apply(request: Request) -> Response:
    """Step two: the confirmed action, through the same functions as the CLI."""
    user, form = await checked_form(request)
    action = str(form.get("action", ""))
    back = safe_next(str(form.get("back", "/")))
    ids = _ids(form)
    if action not in ACTIONS or form.get("confirmed") != "yes":
        raise HTTPException(400, "unconfirmed")
    if not ids:
        return RedirectResponse(back, 303)
    w = web(request)
    try:
        if action == "reset":
            messages = await run_in_threadpool(w.store.reset, ids, user.name)
        elif action == "manual":
            messages = await run_in_threadpool(w.store.mark_manual, ids, user.name)
        else:
            messages = await run_in_threadpool(_resend, w, ids, user.name)
    except NotFound as exc:
        flash(request, str(exc), level="error")
        return RedirectResponse(back, 303)
    flash(request, *messages)
    return RedirectResponse(back, 303)


def _resend(w: Any, ids: list[int], actor: str) -> list[str]:
    engine = w.engine(actor)
    try:
        return [message for _ok, message in engine.resend(ids, actor)]
    finally:
        engine.store.release(engine.owner, in_doubt=True)
        engine.close()


def _pipeline(request: Request, name: str) -> Any:
    try:
        return web(request).config.pipeline(name)
    except SyncdError:
        raise HTTPException(404) from None


async def run_now(request: Request) -> Response:
    """`Store.request_run` (the event, and the signal a running daemon acts on); served by
    `syncd web` alone, the cycle itself then runs in a job so the page shows its result."""
    user, _form = await checked_form(request)
    w = web(request)
    pipeline = _pipeline(request, request.path_params["name"])
    await run_in_threadpool(w.store.request_run, pipeline.name, user.name)
    if not w.attached:
        w.jobs.start_run(pipeline.name, user.name)
    flash(request, translator(request).gettext("Run requested for {p}.", p=pipeline.name))
    return RedirectResponse("/", 303)


async def pause(request: Request) -> Response:
    """`Store.pause` / `Store.resume`: the switch the CLI and the daemon share."""
    user, form = await checked_form(request)
    w = web(request)
    pipeline = _pipeline(request, request.path_params["name"])
    tr = translator(request)
    if form.get("paused") == "yes":
        await run_in_threadpool(w.store.pause, pipeline.name, user.name)
        flash(request, tr.gettext("{p} paused: nothing is pulled or delivered.",
                                  p=pipeline.name))
    else:
        await run_in_threadpool(w.store.resume, pipeline.name, user.name)
        flash(request, tr.gettext("{p} resumed.", p=pipeline.name))
    return RedirectResponse("/", 303)


async def start_reload(request: Request) -> Response:
    user, form = await checked_form(request)
    w = web(request)
    try:
        pipeline = w.config.pipeline(str(form.get("pipeline", "")))
        start = date.fromisoformat(str(form.get("from", "")))
        end = date.fromisoformat(str(form.get("to", "")))
    except (SyncdError, ValueError):
        raise HTTPException(400, "bad reload") from None
    if end < start or not pipeline.enabled:
        reason = (f"pipeline {pipeline.name!r} is disabled" if not pipeline.enabled
                  else f"{end} is before {start}")
        flash(request, reason, level="error")
        return RedirectResponse(f"/reload?pipeline={pipeline.name}", 303)
    job = w.jobs.start_reload(pipeline.name, start, end, user.name)
    return RedirectResponse(f"/reload/jobs/{job.id}", 303)


MAX_UPLOAD_MB = 20


async def upload(request: Request) -> Response:
    """A CSV (e.g. Afterbuy's invoice list) into the pipeline's inbox, then a pull of it."""
    user, form = await checked_form(request)
    w = web(request)
    tr = translator(request)
    pipeline = _pipeline(request, str(form.get("pipeline", "")))
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise HTTPException(400, "no file")
    data = await file.read(MAX_UPLOAD_MB * 1024 * 1024 + 1)
    back = f"/upload?pipeline={pipeline.name}"
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        flash(request, tr.gettext("The file is larger than {n} MB.", n=MAX_UPLOAD_MB),
              level="error")
        return RedirectResponse(back, 303)
    if not data:
        flash(request, tr.gettext("The file is empty."), level="error")
        return RedirectResponse(back, 303)
    name = Path(file.filename.replace("\\", "/")).name[:200] or "upload.csv"
    marker = await run_in_threadpool(last_event_id, w.store)
    _item, created = await run_in_threadpool(w.store.inbox_add, pipeline.name, name, data,
                                             user.name, file.content_type or None)
    if not created:
        flash(request, tr.gettext(
            "This file was uploaded before (same content); it is not read twice."))
        return RedirectResponse(back, 303)
    job = w.jobs.start_run(pipeline.name, user.name, kind="import", filename=name,
                           events_after=marker)
    return RedirectResponse(f"/reload/jobs/{job.id}", 303)


def routes() -> list[Route]:
    return [
        Route("/actions/confirm", confirm, methods=["POST"]),
        Route("/actions/apply", apply, methods=["POST"]),
        Route("/pipelines/{name:str}/run", run_now, methods=["POST"]),
        Route("/pipelines/{name:str}/pause", pause, methods=["POST"]),
        Route("/reload", start_reload, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
    ]
