"""The dashboard application: Starlette, server-rendered Jinja pages, signed sessions.

`create_app(config, store, host)` is used by `syncd web`, `syncd run --web` and the tests.
Pages live in `syncd.web.pages`, actions in `syncd.web.actions`; this module holds what every
request shares: who is logged in, the language, CSRF, error pages that show no internals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from syncd.config import Config
from syncd.engine import Engine
from syncd.engine.runner import worker_id
from syncd.log import get_logger, masker
from syncd.plugins import PluginHost
from syncd.store import Store
from syncd.web import auth, reads
from syncd.web.i18n import LANGUAGES, Translator, pick_language
from syncd.web.jobs import Jobs
from syncd.web.stats import Aggregates

HERE = Path(__file__).parent
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]


PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # only this site's own files run: an injected script would not, even if escaping failed
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class LoginRequired(Exception):
    """Raised by `require`; answered with a redirect to the login page."""


class Forbidden(Exception):
    """The user is logged in but the role does not allow the action."""


@dataclass
class Web:
    """Everything the handlers share, one per application."""

    config: Config
    store: Store
    host: PluginHost
    env: jinja2.Environment
    limiter: auth.LoginLimiter
    jobs: Jobs
    local_actor: str | None = None  # set when no users are configured (loopback only)
    attached: bool = False  # inside `syncd run --web`: the daemon acts on run requests
    _reader: Engine | None = None
    _reader_lock: threading.Lock = field(default_factory=threading.Lock)
    _warnings: tuple[float, dict[str, list[str]]] | None = None
    aggregates: Aggregates | None = None  # the overview's and /metrics' counts

    def engine(self, actor: str) -> Engine:
        """A fresh engine for one action, its lease owner naming the web user."""
        return Engine(self.config, self.store, host=self.host,
                      owner=f"web:{actor}:{worker_id()}")

    def warnings(self) -> dict[str, list[str]]:
        """Targets' `status_warnings()` per pipeline (Amazon's 24-hour deadline), 30 s cached."""
        cached = self._warnings
        if cached and time.monotonic() - cached[0] < 30:
            return cached[1]
        with self._reader_lock:
            if self._reader is None:
                self._reader = Engine(self.config, self.store, host=self.host)
            found: dict[str, list[str]] = {}
            for p in self.config.settings.pipelines:
                if not p.enabled:
                    continue
                for name in p.targets:
                    cls = self._reader.host.registry.targets.get(name)
                    if cls is None or not hasattr(cls, "status_warnings"):
                        continue
                    try:
                        got = self._reader.target(p, name).status_warnings()
                    except Exception as exc:  # the page must still show when a check fails
                        got = [f"cannot check warnings: {type(exc).__name__}"]
                    found.setdefault(p.name, []).extend(f"{name}: {w}" for w in got)
            self._warnings = (time.monotonic(), found)
        return found

    def counts(self) -> Aggregates:
        if self.aggregates is None:  # create_app makes it; this is for a Web built by hand
            self.aggregates = Aggregates(self.store)
        return self.aggregates

    def close(self) -> None:
        self.jobs.stop()
        if self.aggregates is not None:
            self.aggregates.close()
        reads.close(self.store)
        if self._reader is not None:
            self._reader.close()


def web(request: Request) -> Web:
    return request.app.state.web


def current_user(request: Request) -> auth.User | None:
    w = web(request)
    if w.local_actor is not None:
        return auth.User(w.local_actor, "operator")
    name, role = request.session.get("user"), request.session.get("role")
    users = w.config.settings.web.users
    if not isinstance(name, str) or name not in users or users[name].role != role:
        return None  # a removed user or a changed role ends the session
    return auth.User(name, role)


def require(request: Request, *, act: bool = False) -> auth.User:
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    if act and not user.can_act:
        raise Forbidden()
    return user


def translator(request: Request) -> Translator:
    chosen = request.session.get("lang")
    return Translator(pick_language(request.headers.get("accept-language"), chosen))


def flash(request: Request, *messages: str, level: str = "info") -> None:
    """Messages for the next page (kept short: the session is a cookie)."""
    kept = list(request.session.get("flash", []))[-10:]
    kept.extend([level, m[:300]] for m in messages[:20])
    request.session["flash"] = kept[-20:]


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """Render `template` with the user, language, CSRF token and pending messages."""
    tr = translator(request)
    user = current_user(request)
    notes = request.session.pop("flash", [])
    html = web(request).env.get_template(template).render(
        request=request, user=user, lang=tr.language, languages=LANGUAGES,
        csrf=auth.csrf_token(request.session), csrf_field=auth.CSRF_FIELD,
        flashes=notes, local_actor=web(request).local_actor, path=request.url.path,
        **tr.functions(), **context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


async def checked_form(request: Request, *, act: bool = True) -> tuple[auth.User, Any]:
    """The POSTed form after the session, role and CSRF checks (in that order)."""
    user = require(request, act=act)
    form = await request.form()
    if not auth.csrf_ok(request.session, form.get(auth.CSRF_FIELD)):
        raise HTTPException(403, "csrf")
    return user, form


def safe_next(target: str | None) -> str:
    """Only paths of this site: no scheme, no `//host`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- login, logout, language, health ---------------------------------------------------------

async def login(request: Request) -> Response:
    w = web(request)
    if w.local_actor is not None:
        return RedirectResponse("/", 303)
    error = None
    status = 200
    target = safe_next(request.query_params.get("next"))
    if request.method == "POST":
        form = await request.form()
        target = safe_next(str(form.get("next", "/")))
        name = str(form.get("username", ""))[:200]
        password = str(form.get("password", ""))[:1000]
        client = request.client.host if request.client else "-"
        tr = translator(request)
        wait = w.limiter.retry_after(client, name)
        if not auth.csrf_ok(request.session, form.get(auth.CSRF_FIELD)):
            error, status = tr.gettext("The form expired; please try again."), 403
        elif wait:
            error, status = tr.gettext("Too many failed logins; try again in {n} seconds.",
                                       n=wait), 429
        else:
            user = auth.authenticate(w.config.settings.web.users, name, password)
            if user is None:
                w.limiter.failed(client, name)
                w.store.event("login-failed", actor=name, message=f"from {client}")
                error, status = tr.gettext("Wrong user name or password."), 401
            else:
                w.limiter.succeeded(client, name)
                lang = request.session.get("lang")
                request.session.clear()  # no session fixation: a fresh session and token
                request.session.update({"user": user.name, "role": user.role})
                if lang:
                    request.session["lang"] = lang
                auth.csrf_token(request.session)
                w.store.event("login", actor=user.name, message=f"from {client}")
                return RedirectResponse(target, 303)
    return page(request, "login.html", status_code=status, error=error, next=target)


async def logout(request: Request) -> Response:
    await checked_form(request, act=False)
    request.session.clear()
    return RedirectResponse("/login", 303)


async def language(request: Request) -> Response:
    form = await request.form()
    if not auth.csrf_ok(request.session, form.get(auth.CSRF_FIELD)):
        raise HTTPException(403, "csrf")
    chosen = str(form.get("lang", ""))
    if chosen in LANGUAGES:
        request.session["lang"] = chosen
    return RedirectResponse(safe_next(str(form.get("next", "/"))), 303)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def metrics(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    from syncd.web import metrics as prom

    w = web(request)
    if not w.config.settings.web.metrics_public:
        require(request)
    body = await run_in_threadpool(prom.render, w.counts(), w.warnings)
    return Response(body, media_type=prom.CONTENT_TYPE)


# -- errors: never a traceback, never a value from the config --------------------------------

async def _login_required(request: Request, exc: Exception) -> Response:
    if request.url.path.endswith(".json") or request.url.path == "/metrics":
        return PlainTextResponse("login required", 401)  # for scripts, not browsers
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", 303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    tr = translator(request)
    return page(request, "message.html", status_code=403,
                message=tr.gettext("You may only look: your role is viewer."))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    tr = translator(request)
    text = {404: "Not found.", 403: "The form expired; please try again."}.get(
        exc.status_code, "Something went wrong; the event log has the details.")
    return page(request, "message.html", status_code=exc.status_code, message=tr.gettext(text))


async def _server_error(request: Request, exc: Exception) -> Response:
    get_logger("syncd.web").error("request failed", path=request.url.path,
                                  error=masker().mask(f"{type(exc).__name__}: {exc}"))
    return HTMLResponse("<!doctype html><title>500</title><p>Internal error; see the log.</p>",
                        status_code=500)


def create_app(config: Config, store: Store, host: PluginHost,
               make_jobs: Callable[[Callable[[str], Engine]], Jobs] = Jobs,
               attached: bool = False) -> Starlette:
    """The dashboard for one config and store; `host` is the enabled plugin host.

    `attached`: served by the daemon's process, which runs requested cycles itself.
    """
    from syncd.cli.run import default_actor
    from syncd.web import actions, pages

    settings = config.settings.web
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    holder: dict[str, Web] = {}
    w = Web(config=config, store=store, host=host, env=env, limiter=auth.LoginLimiter(),
            jobs=make_jobs(lambda actor: holder["web"].engine(actor)),
            local_actor=None if settings.users else default_actor(), attached=attached,
            aggregates=Aggregates(store))
    holder["web"] = w
    middleware = [Middleware(SessionMiddleware, secret_key=auth.session_secret(config),
                             session_cookie="syncd_session", same_site="strict",
                             https_only=settings.secure_cookies,
                             max_age=int(settings.session_max_age.total_seconds()))]
    if w.local_actor is not None:  # no login: only this machine's names (no DNS rebinding)
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=LOCAL_HOSTS))
    routes = [
        Route("/healthz", healthz),
        Route("/metrics", metrics),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/language", language, methods=["POST"]),
        *pages.routes(),
        *actions.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        LoginRequired: _login_required, Forbidden: _forbidden, HTTPException: _http_error,
        Exception: _server_error})
    app.state.web = w
    return app
