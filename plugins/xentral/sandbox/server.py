"""The Xentral emulator: the v3 Business Documents calls syncd makes (and v1 payment status).

A real threaded HTTP server on 127.0.0.1. It checks the Bearer token (401 problem when wrong
or `token_expired`), enforces 100 requests/minute per instance in a fixed window with
`X-RateLimit-Limit`/`-Remaining` on every answer and `Retry-After`/`X-RateLimit-Reset` on 429,
validates every request body, query parameter and list filter against the OpenAPI files
(400 `request-validation` problems naming the field paths) and its own answers too, answers
403 when `state.scopes` lacks an operation's `x-scopes`, keeps
document numbers unique per kind, knows only the products, customers, projects and documents
it holds, logs attached files in the document's activity, and records every request.
`fail_next` injects a 500 before or after processing, a 429, or a success answer without the
expected data ("garbage").
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import click

from syncd.log import get_logger
from syncd.testing.emulator import Emulator, EmulatorHandler, EmulatorServer, Recorded
from syncd.testing.emulator import specs_dir as find_specs
from syncd_xentral.sandbox.routes import Routes, SandboxError
from syncd_xentral.sandbox.specs import SpecValidator
from syncd_xentral.sandbox.state import EmulatorState, RateWindow

log = get_logger("syncd_xentral.sandbox")
PROBLEM_STATUSES = {400, 401, 403, 404, 409, 415}


def _parse_filters(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str, Any]], dict]:
    """deepObject `filter[n][key|op|value]` (value[] for lists) plus the other parameters."""
    filters: dict[int, dict[str, Any]] = {}
    other: dict[str, str] = {}
    pattern = re.compile(r"^filter\[(\d+)\]\[(key|op|value)\](\[\d*\])?$")
    for name, value in pairs:
        match = pattern.match(name)
        if not match:
            other[name] = value
            continue
        entry = filters.setdefault(int(match.group(1)), {})
        if match.group(3) is not None:
            entry.setdefault("value", []).append(value)
        else:
            entry[match.group(2)] = value
    out = []
    for index in sorted(filters):
        entry = filters[index]
        if "key" not in entry or "op" not in entry:
            raise SandboxError(400, {f"filter.{index}": ["The filter needs a key and an op."]})
        out.append((entry["key"], entry["op"], entry.get("value")))
    return out, other


class _Handler(EmulatorHandler):
    emulator: XentralEmulator
    methods = ("GET", "POST", "PATCH")

    def dispatch(self, method: str) -> None:
        emulator, state = self.emulator, self.emulator.state
        parts = urlsplit(self.path)
        raw = self.read_body()
        route = emulator.routes.find(method, parts.path)
        operation = route.operation if route else "unknown"
        headers: dict[str, str] = {}
        body: Any = None
        recorded: Any = None
        with state.lock:
            allowed, remaining, reset = state.rate.take()
        fault = state.fail_next.take(operation)
        headers["X-RateLimit-Limit"] = str(state.rate.per_minute)
        headers["X-RateLimit-Remaining"] = str(remaining)
        if state.rate.reset_always:
            headers["X-RateLimit-Reset"] = str(math.ceil(reset))
        try:
            if not allowed or fault == "429":
                wait = 1 if allowed else max(1, int(reset - time.time() + 0.999))
                headers.update({"Retry-After": str(wait),
                                "X-RateLimit-Reset": str(math.ceil(reset))})
                raise SandboxError(429, None, plain={"message": "Too Many Requests"})
            self._authorize()
            if route is None:
                raise SandboxError(404, None, title=f"No route {method} {parts.path}")
            self._check_scopes(method, route.template)
            payload = None
            if method in ("POST", "PATCH"):
                payload, recorded = self._body(raw, route.template, method)
            if fault == "before":
                raise SandboxError(500, None, plain={"message": "Server Error"})
            filters, params = _parse_filters(parse_qsl(parts.query, keep_blank_values=True))
            self._check_query(method, route.template, filters, params)
            status, body = route.handler(route.match, payload, filters, params)
            if fault == "after":  # processed, but the caller never learns the answer
                raise SandboxError(500, None, plain={"message": "Server Error"})
            if fault == "garbage":  # processed, answered with something unreadable
                body = {"unexpected": True}
        except SandboxError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # an emulator bug still answers, and says what broke
            log.exception("xentral sandbox handler failed", operation=operation)
            status, body = 500, {"message": f"{type(exc).__name__}: {exc}"}
        state.record(Recorded(method, parts.path, status, operation, recorded))
        if route is not None and emulator.specs.enabled:  # the emulator keeps to the spec too
            wrong = emulator.specs.response_errors(method.lower(), route.template, status, body)
            if wrong:
                with state.lock:
                    state.spec_violations += [f"response {method} {route.template} {status}: "
                                              f"{p}: {m}" for p, m in wrong]
        answer = self.send_problem if status in PROBLEM_STATUSES else self.send_json
        answer(status, body, headers)

    def _authorize(self) -> None:
        state = self.emulator.state
        given = self.headers.get("Authorization", "")
        if given != f"Bearer {state.token}" or state.token_expired:
            raise SandboxError(401, None, title="Unauthenticated.",
                               detail="The access token is invalid or has expired.")

    def _check_scopes(self, method: str, template: str) -> None:
        """403 when the token lacks a scope the operation declares (`x-scopes`)."""
        granted = self.emulator.state.scopes
        if granted is None:
            return
        missing = [s for s in self.emulator.specs.scopes(method, template) if s not in granted]
        if missing:
            raise SandboxError(403, None, title="Forbidden.",
                               detail=f"The access token lacks the scope {', '.join(missing)}.")

    def _check_query(self, method: str, template: str, filters: list[tuple[str, str, Any]],
                     params: dict[str, str]) -> None:
        violations = self.emulator.specs.query_errors(method, template, filters, params)
        if violations:
            with self.emulator.state.lock:
                self.emulator.state.spec_violations += [f"{method} {template}: {p}: {m}"
                                                        for p, m in violations]
            grouped: dict[str, list[str]] = {}
            for path, message in violations:
                grouped.setdefault(path, []).append(message)
            raise SandboxError(400, grouped)

    def _body(self, raw: bytes, template: str, method: str) -> tuple[Any, Any]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type != "application/json":
            raise SandboxError(415, None, title=f"Unsupported content type {content_type!r}")
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            raise SandboxError(400, {"(body)": ["The request body is not JSON."]}) from None
        recorded = payload
        if isinstance(payload, dict) and "fileContent" in payload:
            try:
                size = len(base64.b64decode(str(payload["fileContent"]), validate=True))
            except (binascii.Error, ValueError):
                raise SandboxError(400, {"fileContent": ["The fileContent must be base64."]}
                                   ) from None
            recorded = {**payload, "fileContent": f"<{size} bytes>"}
        violations = self.emulator.specs.errors(method.lower(), template, payload)
        if violations:
            with self.emulator.state.lock:
                self.emulator.state.spec_violations += [f"{method} {template}: {p}: {m}"
                                                        for p, m in violations]
            grouped: dict[str, list[str]] = {}
            for path, message in violations:
                grouped.setdefault(path, []).append(message)
            raise SandboxError(400, grouped)
        return payload, recorded


class XentralEmulator(Emulator):
    """Start with `.start()` (a free port by default); `.config_values()` for syncd."""

    name = "xentral"
    handler = _Handler
    command: ClassVar[click.Command]

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, token: str = "sandbox-token",
                 projects: tuple[str, ...] = ("1", "3", "4"), limit: int = 100,
                 period: float = 60.0, specs_dir: Any = None,
                 products: tuple[str, ...] = ("PORTO", "RABATT", "GESCHENK")) -> None:
        super().__init__(host=host, port=port)
        self.state = EmulatorState(token=token, projects=set(projects),
                                   rate=RateWindow(limit, period))
        self.specs = SpecValidator(specs_dir if specs_dir is not None else find_specs("xentral"))
        self.routes = Routes(self.state)
        for number in products:
            self.state.add_product(number)
        self.collective_customer = self.state.add_customer("Amazon Sammelkunde",
                                                           country="DE")

    def bind(self) -> EmulatorServer:
        fresh = self._server is None
        server = super().bind()
        if fresh:
            log.info("xentral sandbox listening", url=self.url,
                     spec_validation=self.specs.enabled)
        return server

    def config_values(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "enabled": True, "base_url": self.url, "token": self.state.token,
            "project_fba": "3", "project_fbm": "4", "customer": "collective",
            "collective_customer_id": self.collective_customer,
            "requests_per_minute": self.state.rate.per_minute,
        }
        values.update(overrides)
        return values
