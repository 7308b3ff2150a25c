"""One delivery attempt: look up first when the remote may already have it, then send.

Failure handling follows the target's classification: transient errors wait with exponential
backoff plus jitter (tenacity) and honour Retry-After; permanent errors go to `error` at
once with the remote's message. An error that may have come after the request reached the
remote leaves the delivery "in doubt", so the next attempt calls find_existing first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import tenacity

from syncd.config import EngineSettings
from syncd.connectors import RemoteRef, Target
from syncd.errors import ConfigError, DeliveryError, TransientError
from syncd.store import Claimed, Outcome, utcnow


def backoff(settings: EngineSettings, attempt: int, retry_after: float | None) -> timedelta:
    """Delay before attempt `attempt + 1`: exponential plus jitter, at least the remote's wish."""
    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    base = settings.backoff_base.total_seconds()
    wait = tenacity.wait_exponential(
        multiplier=base, max=settings.backoff_max.total_seconds()
    ) + tenacity.wait_random(0, base)
    return timedelta(seconds=max(wait(state), retry_after or 0.0))


def may_have_arrived(error: DeliveryError, cause: BaseException) -> bool:
    """False only when the request surely never reached the remote (refused connection, 429)."""
    if error.code == "429":
        return False
    return not isinstance(cause, httpx.ConnectError | ConnectionRefusedError)


def attempt(target: Target, claimed: Claimed, settings: EngineSettings) -> Outcome:
    """Run one attempt and describe its result; never raises for the remote's failures."""
    started = utcnow()
    action = "deliver"
    in_doubt = claimed.in_doubt or claimed.resend
    try:
        if in_doubt:
            action = "lookup"
            found = target.find_existing(claimed.document)
            if found is not None:
                return _done(claimed, started, action, found,
                             result="refused" if claimed.resend else "found")
            action = "deliver"
        ref = target.deliver(claimed.document)
        if not isinstance(ref, RemoteRef):
            raise TypeError(f"{type(target).__name__}.deliver returned {ref!r}, "
                            "not a RemoteRef")
        return _done(claimed, started, action, ref, result="done")
    except ConfigError:
        raise  # credentials or roles unusable: every attempt would fail, the pipeline stops
    except Exception as exc:  # every other failure is classified by the target
        error = target.classify(exc)
        finished = utcnow()
        doubt = in_doubt if action == "lookup" else False
        common = {
            "claimed": claimed, "action": action, "started_at": started,
            "finished_at": finished, "error_class": type(error).__name__,
            "error_code": error.code, "error_message": str(error)[:4000],
        }
        if isinstance(error, TransientError):
            doubt = doubt or (action == "deliver" and may_have_arrived(error, exc))
            if claimed.attempts + 1 >= settings.max_attempts:
                common["error_message"] = (f"gave up after {claimed.attempts + 1} attempts: "
                                           f"{common['error_message']}")
                return Outcome(state="error", result="transient", in_doubt=doubt, **common)
            wait = backoff(settings, claimed.attempts + 1, error.retry_after)
            return Outcome(state="waiting", result="transient", in_doubt=doubt,
                           next_attempt_at=finished + wait, **common)
        return Outcome(state="error", result="permanent", in_doubt=doubt, **common)


def _done(claimed: Claimed, started: datetime, action: str, ref: RemoteRef, result: str) -> Outcome:
    return Outcome(
        claimed=claimed, state="done", action=action, result=result, started_at=started,
        finished_at=utcnow(), remote_ref=ref.ref,
        remote_detail=dict(ref.detail) if ref.detail else None,
    )
