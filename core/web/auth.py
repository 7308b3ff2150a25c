"""Who may use the dashboard: argon2 passwords, roles, CSRF tokens, login rate limits.

Sessions are Starlette's signed cookies (itsdangerous), HttpOnly and SameSite=strict; they
hold the user name, the role and the CSRF token of the session, nothing else. Every POST
carries that token in a hidden field and is refused without it, so a page on another site
cannot act with an operator's cookie.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from syncd.config import Config, WebUser
from syncd.errors import ConfigError

ROLES = ("viewer", "operator")
CSRF_FIELD = "csrf"
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both cases take the same time."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current recommended parameters."""
    return _hasher.hash(password)


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def can_act(self) -> bool:
        return self.role == "operator"


def authenticate(users: dict[str, WebUser], name: str, password: str) -> User | None:
    """The user when the password matches its argon2 hash, else None (same cost either way)."""
    entry = users.get(name)
    stored = entry.password_hash.get_secret_value() if entry else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if entry is None:
        return None
    return User(name=name, role=entry.role)


class LoginLimiter:
    """At most `attempts` failed logins per client address and per user name in `window`.

    Counting both stops one address guessing many passwords and many addresses guessing one
    user's password. Kept in memory: a restart forgets it, which only restores the budget.
    """

    def __init__(self, attempts: int = 5, window: float = 900.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def retry_after(self, client: str, name: str) -> int:
        """Seconds until this client may try this user again (0: it may now)."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key in (f"ip:{client}", f"user:{name}"):
                times = self._recent(key, now)
                if len(times) >= self.attempts:
                    waits.append(int(self.window - (now - times[0])) + 1)
            return max(waits, default=0)

    def failed(self, client: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{client}", f"user:{name}"):
                self._recent(key, now).append(now)

    def succeeded(self, client: str, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name}", None)


def csrf_token(session: dict) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict, submitted: object) -> bool:
    expected = session.get("csrf")
    return (isinstance(expected, str) and isinstance(submitted, str)
            and hmac.compare_digest(expected.encode(), submitted.encode()))


def session_secret(config: Config) -> str:
    """`[web] secret_key`, else a random key kept in data/web/secret_key (mode 0600).

    Kept on disk so sessions survive a restart and several `syncd web` processes on one
    config agree on it.
    """
    configured = config.settings.web.secret_key
    if configured is not None:
        value = configured.get_secret_value()
        if len(value) < 32:
            raise ConfigError(["web.secret_key: use at least 32 characters"], str(config.path))
        return value
    path = Path(config.base_dir) / "data" / "web" / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def check_exposure(config: Config, host: str) -> None:
    """Refuse to listen beyond this machine while nobody has to log in."""
    if host in LOOPBACK or host.startswith("127."):
        return
    if not config.settings.web.users:
        raise ConfigError([
            f"web.host: refusing to listen on {host} without users; add one with "
            "`syncd web add-user NAME` (see docs/web.md: put it behind a TLS proxy)"],
            str(config.path))
