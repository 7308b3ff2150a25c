"""What an operator changes: reset, mark manual, resend, run now, reload.

Each action calls the function the CLI calls (`Store.reset`, `Store.mark_manual`,
`Engine.resend`, `Engine.run_cycle`, `Engine.reload`) with the web user as the actor, so the
event log says who did it. Bulk actions ask for confirmation on a page of their own, which
works without JavaScript; only operators get past `checked_form`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from syncd.errors import SyncdError
from syncd.store import NotFound
from syncd.web.app import checked_form, flash, page, safe_next, translator, web

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


async def run_now(request: Request) -> Response:
    user, _form = await checked_form(request)
    w = web(request)
    name = request.path_params["name"]
    try:
        pipeline = w.config.pipeline(name)
    except SyncdError:
        raise HTTPException(404) from None
    await run_in_threadpool(w.store.event, "run-now", pipeline=pipeline.name, actor=user.name,
                            message="run requested from the dashboard")
    w.jobs.start_run(pipeline.name, user.name)
    flash(request, translator(request).gettext("Run requested for {p}.", p=pipeline.name))
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


def routes() -> list[Route]:
    return [
        Route("/actions/confirm", confirm, methods=["POST"]),
        Route("/actions/apply", apply, methods=["POST"]),
        Route("/pipelines/{name:str}/run", run_now, methods=["POST"]),
        Route("/reload", start_reload, methods=["POST"]),
    ]
