"""Spine v2 steps: each step's result is committed at once, in-doubt steps are looked up,
a found first step does not skip the later ones, and the failing step is shown."""

from __future__ import annotations

import contextlib
import json

import sqlalchemy as sa

from syncd.engine import Engine
from syncd.errors import PermanentError
from syncd.jobs import Job, StepResult
from syncd.store.schema import deliveries
from syncd.testing.plugin import StepSinkTarget

from .spine_support import run_cli, spine

__all__ = ["spine"]
STEPS = [{"name": "demo", "source": "synthetic", "targets": ["steps-sink"]}]


def created(sink) -> list[str]:
    return [e["identity"] for e in sink.received()]


def test_steps_run_in_order_with_jobs_and_batch_prepare(spine, document_sink, monkeypatch):
    jobs: list[Job] = []
    original = StepSinkTarget.run_step

    def spy(self, step, job):
        jobs.append(job)
        return original(self, step, job)

    monkeypatch.setattr(StepSinkTarget, "run_step", spy)
    engine, config, store = spine(pipelines=STEPS, count=3, engine={"batch_size": 2})
    pipeline = config.settings.pipelines[0]
    assert engine.run_cycle(pipeline).delivery.delivered == 3
    assert engine.target(pipeline, "steps-sink").prepared == [2, 1]  # once per claim
    assert sorted(created(document_sink)) == [f"steps:synthetic:doc-00000{i}" for i in range(3)]
    assert [f["name"] for f in document_sink.files_received()] == ["document.pdf"] * 3
    first, second = jobs[0], jobs[1]
    assert (first.pipeline, first.target, first.delivery_id) == ("demo", "steps-sink", 1)
    assert first.document.number and first.steps == {}
    assert list(second.steps) == ["create"] and second.remote is not None
    detail = store.document_detail(1)["deliveries"][0]
    assert [s["step"] for s in detail["steps"]] == ["create", "attach"]
    assert detail["remote_ref"] == detail["steps"][0]["ref"]


def test_crash_after_the_first_step_never_repeats_it(spine, document_sink, monkeypatch):
    engine, config, store = spine(pipelines=STEPS, count=1, engine={"lease": "1s"})
    pipeline = config.settings.pipelines[0]
    original = StepSinkTarget.run_step

    def crash_at_attach(self, step, job):
        if step == "attach":
            raise SystemExit("killed")  # not an error the engine handles: a dying worker
        return original(self, step, job)

    monkeypatch.setattr(StepSinkTarget, "run_step", crash_at_attach)
    engine.pull(pipeline)
    with contextlib.suppress(SystemExit):
        engine.deliver(pipeline)
    monkeypatch.setattr(StepSinkTarget, "run_step", original)
    with store.tx() as conn:  # the lease of the dead worker runs out
        conn.execute(deliveries.update().values(
            lease_expires_at=sa.select(deliveries.c.created_at).scalar_subquery()))
    other = Engine(config, store, host=engine.host)
    stats, _ = other.deliver(pipeline)
    other.close()
    assert stats.delivered == 1
    assert created(document_sink) == ["steps:synthetic:doc-000000"]  # create ran once
    assert len(document_sink.files("steps:synthetic:doc-000000")) == 1
    history = store.document_detail(1)["deliveries"][0]["attempt_history"]
    assert [(a["action"], a["step"]) for a in history] == [("deliver", "attach")]


def test_a_found_first_step_does_not_skip_the_later_ones(spine, document_sink):
    engine, config, store = spine(pipelines=STEPS, count=1)
    pipeline = config.settings.pipelines[0]
    engine.pull(pipeline)
    target = engine.target(pipeline, "steps-sink")
    (claimed,) = store.claim("demo", "ghost", 10, engine.settings.lease,
                             engine.numbering(pipeline))
    target.run_step("create", engine.job(pipeline, claimed))  # it landed, then the worker died
    with store.tx() as conn:
        conn.execute(deliveries.update().values(
            lease_expires_at=sa.select(deliveries.c.created_at).scalar_subquery()))
    stats, _ = engine.deliver(pipeline)
    assert (stats.delivered, stats.found) == (1, 0)
    assert created(document_sink) == ["steps:synthetic:doc-000000"]
    assert len(document_sink.files("steps:synthetic:doc-000000")) == 1
    history = store.document_detail(1)["deliveries"][0]["attempt_history"]
    assert history[0]["action"] == "deliver" and history[0]["outcome"] == "done"


def test_documents_show_and_list_name_the_failed_step(spine, document_sink, monkeypatch):
    def refuse_attach(self, step, job):
        if step == "attach":
            raise PermanentError("the file is not a PDF", code="422")
        return StepResult("remote-1")

    monkeypatch.setattr(StepSinkTarget, "run_step", refuse_attach)
    engine, config, store = spine(pipelines=STEPS, count=1)
    engine.run_cycle(config.settings.pipelines[0])
    (row,) = store.list_documents(state="error")
    assert [(d.state, d.step) for d in row.deliveries] == [("error", "attach")]
    listed = json.loads(run_cli(config.path, "documents", "list", "--json").output)
    assert listed[0]["steps"] == {"steps-sink": "attach"}
    assert "attach" in run_cli(config.path, "documents", "list").output
    shown = run_cli(config.path, "documents", "show", row.number)  # by number, too
    assert shown.exit_code == 0, shown.output
    assert "step create: done" in shown.output
    assert "last error at step attach: PermanentError 422: the file is not a PDF" in shown.output
