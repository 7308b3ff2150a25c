"""`syncd documents list|show|reset|mark-manual|resend|keep`: see and fix single documents."""

from __future__ import annotations

import json
from typing import Any

import click

from syncd.cli.run import actor_option, make_engine, opened_store
from syncd.errors import SyncdError
from syncd.store import NotFound
from syncd.store.queries import LIST_STATES


@click.group("documents")
def documents_group() -> None:
    """Waiting, failed and delivered documents, and the operator's actions on them."""


@documents_group.command("list")
@click.option("--state", type=click.Choice(list(LIST_STATES)))
@click.option("--pipeline", "-p")
@click.option("--target", "-t", help="Only documents with a delivery to this target.")
@click.option("--search", "-s", help="Part of a source key or number.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_command(obj: Any, state: str | None, pipeline: str | None, target: str | None,
                 search: str | None, limit: int, as_json: bool) -> None:
    """Newest first; the state is the worst of the document's deliveries."""
    with opened_store(obj, read_only=True) as (_config, store):
        page = store.list_documents(state=state, pipeline=pipeline, target=target,
                                    search=search, limit=limit)
    rows = [r.as_dict() for r in page]
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from syncd.cli.tables import Column, render

    table_rows = []
    for r in page:
        targets = []
        for d in r.deliveries:
            text = f"{d.target}:{d.state}"
            if d.state in ("error", "waiting") and d.step:
                text += f" at {d.step}"
            targets.append(text)
        error = r.error or next((d.waiting_for for d in r.deliveries if d.waiting_for), "")
        table_rows.append((str(r.id), r.pipeline, r.source_key, r.state, r.number or "-",
                           ", ".join(targets) or "-", (error or "")[:200]))
    render([Column("id", justify="right", no_wrap=True), Column("pipeline", drop=3),
            Column("source key"), Column("state", no_wrap=True),
            Column("number", no_wrap=True), Column("targets", drop=2),
            Column("error", drop=1)], table_rows)
    click.echo(f"{len(rows)} document(s)")


def _document_id(store: Any, ref: str) -> int:
    """A document id, or the id of the document carrying number `ref`."""
    found = store.document_by_number(ref)
    if found is not None:
        return int(found)
    if ref.isdigit():
        return int(ref)
    raise NotFound(f"no document with id or number {ref!r}")


@documents_group.command("show")
@click.argument("ref", metavar="ID|NUMBER")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show_command(obj: Any, ref: str, as_json: bool) -> None:
    """The document, its revisions, deliveries, steps and every attempt with its error."""
    with opened_store(obj, read_only=True) as (_config, store):
        detail = store.document_detail(_document_id(store, ref))
    if as_json:
        click.echo(json.dumps(detail, indent=2, default=str))
        return
    echo = click.echo
    echo(f"document {detail['id']}  {detail['source']}:{detail['source_key']}  "
         f"pipeline {detail['pipeline']}  state {detail['state']}  "
         f"revision {detail['revision']}  number {detail['number'] or '-'}")
    if detail["error"]:
        echo(f"  source error: {detail['error']}")
    extra = (detail.get("document") or {}).get("extra") or {}
    if extra:  # where the source found it, e.g. afterbuy:file / afterbuy:line
        echo("  from the source: " + "  ".join(f"{k} {v}" for k, v in sorted(extra.items())))
    for rev in detail["revisions"]:
        echo(f"  revision {rev['revision']}  {rev['created_at']}  {rev['content_hash'][:12]}")
    for d in detail["deliveries"]:
        echo(f"  -> {d['target']}: {d['state']}  attempts {d['attempts']}  "
             f"remote {d['remote_ref'] or '-'}  delivered revision "
             f"{d['delivered_revision'] or '-'}")
        if d["waiting_for"]:
            echo(f"     {d['waiting_for']}")
        if d["state"] == "waiting" and d["attempts"]:
            echo(f"     next attempt {d['next_attempt_at']}Z")
        for step in d["steps"]:
            echo(f"     step {step['step']}: done {step['done_at']}  {step['ref'] or ''}")
        if d["error_message"]:
            where = f" at step {d['step']}" if d["step"] else ""
            echo(f"     last error{where}: {d['error_class']} {d['error_code'] or ''}: "
                 f"{d['error_message']}")
        if d["diff"]:
            echo("     changed since delivery (resend or keep):")
            for line in d["diff"].splitlines():
                echo(f"       {line}")
        for a in d["attempt_history"]:
            line = f"     #{a['attempt']} {a['started_at']} {a['action']} -> {a['outcome']}"
            if a["step"]:
                line += f" [{a['step']}]"
            if a["error_message"]:
                line += f": {a['error_class']} {a['error_code'] or ''} {a['error_message']}"
            if a["remote_ref"]:
                line += f" ({a['remote_ref']})"
            echo(line)
    for e in detail["events"]:
        echo(f"  event {e['at']} {e['kind']} by {e['actor'] or '-'}: {e['message'] or ''}")


def _report(messages: list[str]) -> None:
    for message in messages:
        click.echo(message)


@documents_group.command("reset")
@click.argument("doc_ids", type=int, nargs=-1, required=True)
@actor_option
@click.pass_obj
def reset_command(obj: Any, doc_ids: tuple[int, ...], actor: str) -> None:
    """error -> waiting: the next run tries again (a rejected document waits for a re-pull)."""
    with opened_store(obj) as (_config, store):
        _report(store.reset(list(doc_ids), actor))


@documents_group.command("mark-manual")
@click.argument("doc_ids", type=int, nargs=-1, required=True)
@actor_option
@click.pass_obj
def mark_manual_command(obj: Any, doc_ids: tuple[int, ...], actor: str) -> None:
    """You imported these by hand: syncd will not deliver them."""
    with opened_store(obj) as (_config, store):
        _report(store.mark_manual(list(doc_ids), actor))


@documents_group.command("resend")
@click.argument("doc_ids", type=int, nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Confirm: you removed the documents remotely.")
@actor_option
@click.pass_obj
def resend_command(obj: Any, doc_ids: tuple[int, ...], yes: bool, actor: str) -> None:
    """Deliver done documents again, after you removed them on the remote.

    syncd first looks each one up on the remote and refuses when it is still there.
    """
    if not yes:
        raise click.UsageError("resend delivers documents a second time; confirm with --yes")
    with opened_store(obj) as (config, store):
        engine = make_engine(obj, config, store)
        try:
            results = engine.resend(list(doc_ids), actor)
        finally:
            engine.close()
    for _ok, message in results:
        click.echo(message)
    if not all(ok for ok, _ in results):
        raise SyncdError("some documents were not sent again (see above)")


@documents_group.command("keep")
@click.argument("doc_ids", type=int, nargs=-1, required=True)
@actor_option
@click.pass_obj
def keep_command(obj: Any, doc_ids: tuple[int, ...], actor: str) -> None:
    """revised -> done: the remote keeps the revision it has; the changed one is not sent."""
    with opened_store(obj) as (_config, store):
        _report(store.keep(list(doc_ids), actor))
