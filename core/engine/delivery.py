"""One delivery attempt: the steps of a job, each looked up first when it may have landed.

Failure handling follows the target's classification: transient errors wait with exponential
backoff plus jitter (tenacity) and honour Retry-After; a remote's explicit refusal goes to
`error` at once. A step that failed after its request may have reached the remote leaves the
delivery *in doubt*, whatever the path back (retry, reset, resend): the next attempt asks
`find_step` before running that step again. An error without the remote's explicit refusal
(no error code: e.g. garbage in a 200 answer after the remote accepted) is never permanent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import tenacity

from syncd.config import EngineSettings
from syncd.connectors import RemoteRef, StepResult, Target, classify_error
from syncd.errors import ConfigError, DeliveryError, PermanentError, TransientError
from syncd.jobs import Job
from syncd.store import Claimed, Outcome, utcnow

RecordStep = Callable[[int, str, int, StepResult], bool]
"""(delivery id, step, position, result) -> still ours; commits a step's result at once."""


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


def _result(value: Any, target: Target, step: str) -> StepResult:
    if isinstance(value, StepResult):
        return value
    if isinstance(value, RemoteRef):
        return StepResult(value.ref, dict(value.detail))
    raise TypeError(f"{type(target).__name__}.run_step({step!r}) returned {value!r}, "
                    "not a StepResult")


def attempt(target: Target, claimed: Claimed, job: Job, settings: EngineSettings,
            record_step: RecordStep, still_ours: Callable[[], bool]) -> Outcome | None:
    """Run the job's remaining steps; None when the lease was lost (nothing more is sent).

    Never raises for the remote's failures; ConfigError (unusable credentials) propagates.
    """
    started = utcnow()
    in_doubt = claimed.in_doubt or claimed.resend
    action, current, ran = "deliver", None, False
    try:
        if not claimed.validated and not job.steps:
            target.validate(job.document)
        steps = list(target.steps(job.document))
        last = None
        for position, step in enumerate(steps):
            if step in job.steps:
                continue
            if not still_ours():
                return None
            current, result = step, None
            if in_doubt:
                action = "lookup"
                found = target.find_step(step, job)
                if found is not None:
                    result = _result(found, target, step)
                    if claimed.resend and position == 0:
                        return _done(claimed, started, action, job.with_step(step, result),
                                     "refused", None)
                # only the first step not committed can have been sent; the rest are fresh
                in_doubt = False
            if result is None:
                action = "deliver"
                result = _result(target.run_step(step, job), target, step)
                ran = True
            job = job.with_step(step, result)
            if position == len(steps) - 1:
                last = (step, position, result)
            elif not record_step(claimed.delivery_id, step, position, result):
                return None
        return _done(claimed, started, action, job, "done" if ran else "found", last)
    except ConfigError:
        raise  # credentials or roles unusable: every attempt would fail, the pipeline stops
    except Exception as exc:  # every other failure is classified by the target
        return _failed(target.classify(exc), exc, claimed, started, action, current,
                       in_doubt, settings)


def fetch_failed(exc: BaseException, claimed: Claimed, started: Any, what: str,
                 settings: EngineSettings) -> Outcome:
    """An attachment fetch failed: retried like a step; no target was touched."""
    out = _failed(classify_error(exc), exc, claimed, started, "fetch", None, claimed.in_doubt,
                  settings)
    out.step = "fetch"
    out.error_message = f"attachment {what}: {out.error_message}"[:4000]
    return out


def _failed(error: DeliveryError, exc: BaseException, claimed: Claimed, started: Any,
            action: str, step: str | None, in_doubt: bool,
            settings: EngineSettings) -> Outcome:
    finished = utcnow()
    sent = action == "deliver" and step is not None
    doubt = in_doubt if action == "lookup" else (claimed.in_doubt and step is None)
    common: dict[str, Any] = {
        "claimed": claimed, "action": action, "started_at": started, "finished_at": finished,
        "error_class": type(error).__name__, "error_code": error.code,
        "error_message": str(error)[:4000], "step": step,
    }
    if isinstance(error, PermanentError) and sent and error.code is None:
        # not the remote's refusal but e.g. an unreadable answer: it may hold the document
        error = TransientError(str(error))
        common["error_class"] = type(error).__name__
        common["error_message"] = f"{common['error_message']} (may have reached the remote: " \
                                  "looked up before the next attempt)"
    if isinstance(error, TransientError):
        doubt = doubt or (sent and may_have_arrived(error, exc))
        if claimed.attempts + 1 >= settings.max_attempts:
            common["error_message"] = (f"gave up after {claimed.attempts + 1} attempts: "
                                       f"{common['error_message']}")
            return Outcome(state="error", result="transient", in_doubt=doubt, **common)
        wait = backoff(settings, claimed.attempts + 1, error.retry_after)
        return Outcome(state="waiting", result="transient", in_doubt=doubt,
                       next_attempt_at=finished + wait, **common)
    return Outcome(state="error", result="permanent", in_doubt=doubt, **common)


def _done(claimed: Claimed, started: Any, action: str, job: Job, result: str,
          last: tuple[str, int, StepResult] | None) -> Outcome:
    remote = job.remote
    return Outcome(
        claimed=claimed, state="done", action=action, result=result, started_at=started,
        finished_at=utcnow(), remote_ref=remote.ref if remote else None,
        remote_detail=dict(remote.detail) if remote and remote.detail else None,
        step=last[0] if last else None, last_step=last,
    )
