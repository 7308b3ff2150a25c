"""The Afterbuy web login and the invoice PDF download behind it.

No API returns Afterbuy's invoice PDFs; integrators download them with the seller's web
login. The session cookie lives in this object only (never in the database or a log): one
login per source instance, and one fresh login when a download says the session expired.
Nothing about the real login form is publicly documented, so the protocol is the one the
bundled emulator speaks: a form POST of `username` and `password` to `login_url` that sets a
session cookie; refused credentials answer 4xx or the login form again (a password field, even
with a cookie); an expired session answers 401/403 or redirects back to the login.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import httpx

from syncd.connectors import retry_after_seconds
from syncd.errors import ConfigError, PermanentError, TransientError
from syncd_afterbuy.config import AfterbuyConfig

Send = Callable[..., httpx.Response]
"""`send(method, url, **httpx_kwargs) -> httpx.Response`: one HTTP request."""


class SessionExpired(Exception):
    """The download was answered with the login page instead of the PDF."""


def _expired(response: httpx.Response, login_url: str) -> bool:
    if response.status_code in (401, 403, 419, 440):
        return True
    if response.is_redirect:
        location = response.headers.get("location", "")
        return "login" in location.lower() or location.split("?")[0] == login_url.split("?")[0]
    return False


_PASSWORD_FIELD = re.compile(rb"<input[^>]+type\s*=\s*[\"']?password", re.IGNORECASE)


def _login_form(response: httpx.Response) -> bool:
    """A 200 answer that is the login form again: the credentials were refused (a logged-in
    page has no password field), even if the site set an (anonymous) session cookie."""
    return (response.status_code == 200 and "html" in response.headers.get("content-type", "")
            and _PASSWORD_FIELD.search(response.content) is not None)


def _transient(response: httpx.Response, what: str) -> TransientError:
    return TransientError(f"{what}: HTTP {response.status_code} from Afterbuy",
                          code=str(response.status_code),
                          retry_after=retry_after_seconds(response))


class AfterbuyWeb:
    """Logs in once, keeps the cookie in memory, downloads invoice PDFs.

    `send` is `HttpClient.request` (redirects are not followed, so an expired session's
    redirect to the login page is seen as such).
    """

    def __init__(self, config: AfterbuyConfig, send: Send) -> None:
        self.config = config
        self.send = send
        self._cookie: str | None = None
        self._lock = threading.Lock()
        self.logins = 0

    def _login(self) -> str:
        config = self.config
        assert config.login_url and config.username and config.password
        response = self.send("POST", config.login_url, data={
            "username": config.username, "password": config.password.get_secret_value()})
        if response.status_code in (429,) or response.status_code >= 500:
            raise _transient(response, "Afterbuy login")
        cookies = [f"{name}={value}" for name, value in response.cookies.items()]
        if response.status_code >= 400 or not cookies or _login_form(response):
            raise ConfigError([f"plugins.afterbuy.password: Afterbuy refused the login of user "
                               f"{config.username!r} at {config.login_url} "
                               f"(HTTP {response.status_code}); check username and password"])
        self.logins += 1
        return "; ".join(cookies)

    def _session(self, stale: str | None = None) -> str:
        with self._lock:
            if self._cookie is None or self._cookie == stale:
                self._cookie = self._login()
            return self._cookie

    def download(self, url: str, number: str) -> bytes:
        """The PDF of invoice `number`; PermanentError when Afterbuy has none."""
        secret: dict[str, str] = {}
        use_login = self.config.username is not None
        stale: str | None = None
        for attempt in (1, 2):
            if use_login:
                cookie = self._session(stale)
                secret["Cookie"] = cookie  # masked in every log line
            response = self.send("GET", url, headers={"Accept": "application/pdf"},
                                 secret_headers=secret)
            if use_login and _expired(response, self.config.login_url or ""):
                stale = cookie
                if attempt == 1:
                    continue
                raise TransientError(f"invoice {number}: Afterbuy ended the session again "
                                     "right after a fresh login")
            return self._pdf(response, url, number)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _pdf(response: httpx.Response, url: str, number: str) -> bytes:
        if response.status_code == 404:
            raise PermanentError(f"no PDF for invoice {number} (HTTP 404 from {url})", code="404")
        if response.status_code == 429 or response.status_code >= 500:
            raise _transient(response, f"PDF of invoice {number}")
        if response.status_code != 200:
            raise PermanentError(f"PDF of invoice {number}: HTTP {response.status_code} from "
                                 f"{url}", code=str(response.status_code))
        if not response.content.startswith(b"%PDF-"):
            kind = response.headers.get("content-type", "unknown content")
            raise PermanentError(f"PDF of invoice {number}: {url} answered {kind}, not a PDF")
        return response.content
