"""The Xentral API as syncd uses it: paced calls, RFC 7807 problems, auth errors that stop.

Every request goes through the shared HTTP client (`context.http`, the core limiter shared by
threads and processes) at Xentral's 100 requests/minute; on top of it this module honours
`X-RateLimit-Remaining`/`X-RateLimit-Reset` and turns answers into syncd errors: 401/403 stop
the pipeline (ConfigError, naming the token and its 180-day expiry), problem bodies become one
line naming the field paths in `violations`, 429/5xx/timeouts are transient.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

import httpx

from syncd.connectors import retry_after_seconds
from syncd.errors import ConfigError, PermanentError, TransientError
from syncd.http import RateLimit
from syncd.log import get_logger, masker

log = get_logger("syncd_xentral")

SAFETY = 1.03
TOKEN_HINT = (
    "Xentral personal access tokens created since release 26.47 expire after at most 180 "
    "days: check its expiry under Administration > Account settings > Developer Settings > "
    "Personal Access Tokens, create a new one and set [plugins.xentral] token"
)


class XentralAuthError(ConfigError):
    """401/403: every call would fail the same way, so the pipeline stops with one line."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__([masker().mask(message)], source="[plugins.xentral]")


class XentralProblem(PermanentError):
    """A refused request (400/404/409/...), with the field paths Xentral named."""

    def __init__(self, message: str, *, status: int, violations: Mapping[str, Any],
                 code: str | None = None) -> None:
        self.status = status
        self.violations = dict(violations)
        super().__init__(masker().mask(message), code=code or str(status))


class HttpLike(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...

    def close(self) -> None: ...


def dumps(body: Any) -> bytes:
    """JSON with Decimal amounts as numbers (the spec's type).

    A float's repr is the shortest text that reads back as the same float, so a Decimal of at
    most 15 significant digits is written exactly as its decimal text; longer ones are refused.
    """

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            number = float(value)
            if Decimal(repr(number)) != value:
                raise ValueError(f"{value} cannot be written exactly as a JSON number")
            return number
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return json.dumps(_floats(body, default), ensure_ascii=False).encode()


def _floats(value: Any, convert: Any) -> Any:
    if isinstance(value, Decimal):
        return convert(value)
    if isinstance(value, Mapping):
        return {k: _floats(v, convert) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_floats(v, convert) for v in value]
    return value


def filter_params(filters: Iterable[tuple[str, str, str | list[str]]]) -> list[tuple[str, str]]:
    """`filter[n][key|op|value]` as deepObject query pairs; list values as `value[]`."""
    out: list[tuple[str, str]] = []
    for i, (key, op, value) in enumerate(filters):
        out += [(f"filter[{i}][key]", key), (f"filter[{i}][op]", op)]
        if isinstance(value, list):
            out += [(f"filter[{i}][value][]", v) for v in value]
        else:
            out.append((f"filter[{i}][value]", value))
    return out


def build_http(base_url: str, token: str, *, per_minute: int, timeout: float,
               http: Any = None, minute: float = 60.0) -> HttpLike:
    """The one place the HTTP client is built: the engine's shared factory (`context.http`).

    The budget is Xentral's: 100 requests per minute per instance (and client IP), so the
    limiter key names the instance, not the token; two pipelines on one instance share it.
    `minute` shrinks the minute for the benchmark's time-scaled emulator. The window is
    stretched by 3 %: Xentral counts arrivals on its own clock, and one 429 costs a whole
    window's Retry-After, far more than the margin.
    """
    from syncd.http import HttpClients

    factory = http if http is not None else HttpClients.standalone()
    key = "xentral:" + hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return factory.client(name="xentral", base_url=base_url,
                          headers={"Accept": "application/json"},
                          secret_headers={"Authorization": f"Bearer {token}"},
                          rate=RateLimit(requests=per_minute, per=minute * SAFETY, key=key),
                          timeout=timeout, retries=5)


class XentralApi:
    """Thin, typed calls; `requests` counts what was sent (benchmarks, tests).

    `per_minute` is the configured budget: an `X-RateLimit-Limit` below it (Xentral calls
    its values provisional) lowers the shared limiter to the announced one, and back up to at
    most `per_minute` when the announcement rises again. `token_expires` (the configured
    expiry) lets a 401 say that the date has passed.
    """

    def __init__(self, http: HttpLike, *, per_minute: int | None = None,
                 token_expires: date | None = None,
                 today: Callable[[], date] = date.today) -> None:
        self.http = http
        self.today = today
        self.requests = 0
        pacer = getattr(http, "pacer", None)
        self.per_minute = per_minute or (pacer.limit.requests if pacer is not None else None)
        self.token_expires = token_expires

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, *, body: Any = None,
             params: list[tuple[str, str]] | None = None,
             content_type: str = "application/json") -> Any:
        kwargs: dict[str, Any] = {}
        if params:
            kwargs["params"] = params
        if body is not None:
            kwargs["content"] = dumps(body)
            kwargs["headers"] = {"Content-Type": content_type}
        self.requests += 1
        try:
            response = self.http.request(method, path, **kwargs)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise TransientError(f"Xentral {method} {path}: {type(exc).__name__}: {exc}",
                                 code="network") from exc
        self._respect_headers(response)
        return self._result(method, path, response)

    def create(self, path: str, body: Any) -> dict[str, Any]:
        """POST a new resource; its `data` (with an `id`), or a transient error that leaves
        the step in doubt (so it is looked up, not sent again)."""
        answer = self.call("POST", path, body=body)
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("id") in (None, ""):
            raise TransientError(f"Xentral POST {path}: answered without data.id: "
                                 f"{masker().mask(str(answer))[:200]}", code="garbage")
        return data

    def _respect_headers(self, response: httpx.Response) -> None:
        """Follow the announced limit; wait for the window's reset when Xentral says no
        request is left in it (it sends the reset time on 429 only, where the core client
        waits `Retry-After` instead)."""
        self._follow_limit(response.headers.get("x-ratelimit-limit"))
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is None or reset is None or response.status_code == 429:
            return
        try:
            if int(remaining) > 0:
                return
            delay = float(reset) - time.time()
        except ValueError:
            return
        if delay > 0:
            time.sleep(min(delay, 60.0))

    def _follow_limit(self, announced: str | None) -> None:
        pacer = getattr(self.http, "pacer", None)
        if not announced or pacer is None or self.per_minute is None:
            return
        try:
            wanted = max(1, min(self.per_minute, int(announced)))
        except ValueError:
            return
        if wanted != pacer.limit.requests:
            log.warning("xentral rate limit follows the instance's X-RateLimit-Limit",
                        announced=int(announced), configured=self.per_minute, now=wanted)
            pacer.update(RateLimit(wanted, pacer.limit.per, pacer.limit.key))

    def _auth_error(self, where: str, response: httpx.Response) -> XentralAuthError:
        status = response.status_code
        said = _problem_text(response)
        if status == 401:
            expired = ""
            if self.token_expires is not None and self.token_expires < self.today():
                expired = f"; token_expires = {self.token_expires.isoformat()} has passed"
            return XentralAuthError(
                f"{where}: Xentral refused the personal access token (401 Unauthorized: "
                f"{said or 'expired, revoked or wrong'}{expired}). {TOKEN_HINT}", status=401)
        return XentralAuthError(
            f"{where}: Xentral denied access (403 Forbidden: "
            f"{said or 'the token lacks a scope this call needs'}). Give the token the "
            "scopes syncd uses (invoice:create, invoice:update, creditNote:create, "
            "creditNote:update, salesOrder:create, product:read, ...) or create one with "
            f"them. {TOKEN_HINT}", status=403)

    def _result(self, method: str, path: str, response: httpx.Response) -> Any:
        status = response.status_code
        where = f"Xentral {method} {path}"
        if status in (200, 201):
            try:
                return response.json() if response.content else None
            except ValueError:
                raise TransientError(f"{where}: HTTP {status} answered with a body that is "
                                     f"not JSON: {_text(response)!r}", code="garbage") from None
        if status == 204:
            return None
        if status in (401, 403):
            raise self._auth_error(where, response)
        if status == 429:
            raise TransientError(f"{where}: 429 Too Many Requests (limit "
                                 f"{response.headers.get('x-ratelimit-limit', '?')}/min)",
                                 code="429", retry_after=retry_after_seconds(response))
        if status >= 500:
            raise TransientError(f"{where}: HTTP {status} {_text(response)}",
                                 code=str(status), retry_after=retry_after_seconds(response))
        raise problem_error(where, response)


def _text(response: httpx.Response, size: int = 200) -> str:
    """The start of an answer's body for an error line, with known secrets masked (error
    lines are stored in the state database, which the log masker does not see)."""
    return masker().mask(response.text)[:size]


def _problem_text(response: httpx.Response) -> str:
    """A problem body's detail (else title) for an auth line, at most 200 characters."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("detail") or body.get("title") or body.get("message") or "")[:200]


def flat_violations(value: Any, prefix: str = "") -> dict[str, list[str]]:
    """Field path -> messages, from v3's flat `violations` or v1's mirrored payload (an
    object, or an array of objects, with the invalid fields' values replaced by messages)."""
    out: dict[str, list[str]] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(flat_violations(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        if value:
            out[prefix or "(body)"] = [str(v) for v in value]
    elif isinstance(value, list):
        for i, item in enumerate(value):  # a top-level array lists violations, not indexes
            out.update(flat_violations(item, f"{prefix}.{i}" if prefix else ""))
    elif value not in (None, ""):
        out[prefix or "(body)"] = [str(value)]
    return out


def problem_error(where: str, response: httpx.Response) -> XentralProblem:
    """One clear line from an RFC 7807 body: title, then each violated field path."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return XentralProblem(f"{where}: HTTP {status}: {_text(response, 300)}", status=status,
                              violations={})
    title = body.get("title") or body.get("message") or body.get("detail") or f"HTTP {status}"
    violations = flat_violations(body.get("violations"))
    parts = [f"{field}: {'; '.join(messages)}" for field, messages in violations.items()]
    messages = body.get("messages")
    if isinstance(messages, list):
        parts += [str(m) for m in messages]
    elif isinstance(messages, dict):
        parts += [f"{k}: {'; '.join(v)}" for k, v in flat_violations(messages).items()]
    for item in body.get("items") or []:  # v1 conflictItems
        if isinstance(item, dict):
            said = "; ".join(map(str, item.get("messages") or [])) or item.get("title") or ""
            parts.append(f"{item.get('id', '?')}: {said}")
    detail = f" ({' | '.join(parts)})" if parts else ""
    return XentralProblem(f"{where}: HTTP {status} {title}{detail}", status=status,
                          violations=violations, code=body.get("type"))
