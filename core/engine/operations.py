"""Operator actions that need the connectors: resend delivered documents, reload a range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from syncd.config import PipelineSettings
from syncd.connectors import Window
from syncd.errors import SyncdError
from syncd.log import get_logger
from syncd.store import IngestStats

if TYPE_CHECKING:
    from syncd.engine.runner import Engine, ReloadProgress


def log() -> Any:
    """Looked up per use: the CLI configures logging after this module is imported."""
    return get_logger("syncd.engine")


def resend(engine: Engine, doc_ids: Sequence[int], actor: str) -> list[tuple[bool, str]]:
    """Deliver done (or revised) documents again, unless the remote still has them."""
    results: list[tuple[bool, str]] = []
    rows = engine.store.deliveries_of(doc_ids, ("done", "revised"))
    by_doc = {r.document_id for r in rows}
    for doc_id in doc_ids:
        if doc_id not in by_doc:
            results.append((False, f"document {doc_id}: no done delivery to send again"))
    for row in rows:
        pipeline = engine.config.pipeline(row.pipeline)
        engine.store.queue_resend([row.id], actor)
        _, outcomes = engine.deliver(pipeline, only_ids=[row.id])
        if not outcomes:
            results.append((False, f"document {row.document_id}: {row.target} is busy; "
                                   "queued for the next run"))
            continue
        out = outcomes[0]
        if out.result == "refused":
            results.append((False, f"document {row.document_id}: {row.target} still has "
                                   f"it as {out.remote_ref}; refusing to send it twice "
                                   "(remove it there first)"))
        elif out.state == "done":
            results.append((True, f"document {row.document_id}: sent again to "
                                  f"{row.target} as {out.remote_ref}"))
        else:
            results.append((False, f"document {row.document_id}: {row.target}: "
                                   f"{out.error_message} ({out.state})"))
    return results

def reload(engine: Engine, pipeline: PipelineSettings, start: date, end: date, actor: str,
           progress: ReloadProgress | None = None) -> tuple[IngestStats, bool]:
    """Re-read [start, end] in windows of the source's max_window; resumable.

    Returns the pull statistics and whether every window was read. Known documents get
    deliveries for targets that do not have them yet (a target added to the pipeline).
    """
    if not pipeline.enabled:
        raise SyncdError(f"pipeline {pipeline.name!r} is disabled (enabled = false); "
                         "enable it to reload")
    if end < start:
        raise SyncdError(f"--to {end} is before --from {start}")
    source = engine.source(pipeline)
    in_place = engine.in_place(pipeline)
    stop = end + timedelta(days=1)
    job = engine.store.start_reload(pipeline.name, start, stop, actor)
    size = source.discover().max_window
    every = Window(start, stop).split(size) if size else [Window(start, stop)]
    todo = [w for w in every if w.start >= job.done_until]
    if progress:
        progress.start(len(every), len(every) - len(todo))
    stats = IngestStats()
    for window in todo:
        if engine.stop.is_set():
            break
        for batch in source.read(None, window):
            got = engine.store.ingest(pipeline.name, pipeline.source, pipeline.targets,
                                    batch.items, None, store_cursor=False,
                                    reload_id=job.id, actor=actor, in_place=in_place)
            stats.add(got)
            if progress:
                progress.documents(got.documents)
        engine.store.ingest(pipeline.name, pipeline.source, pipeline.targets, [], None,
                          store_cursor=False, reload_id=job.id,
                          reload_done_until=window.end, actor=actor)
        log().info("reload window", pipeline=pipeline.name, start=str(window.start),
                   end=str(window.end), documents=stats.documents)
        if progress:
            progress.window(window)
    complete = not engine.stop.is_set()
    if complete:
        engine.store.finish_reload(job.id)
    engine.deliver(pipeline)
    return stats, complete
