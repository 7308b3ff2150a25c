"""`syncd documents list|show|reset|mark-manual|resend`: see and fix individual documents."""

from __future__ import annotations

import json
from typing import Any

import click

from syncd.cli.run import actor_option, make_engine, opened_store
from syncd.errors import SyncdError


@click.group("documents")
def documents_group() -> None:
    """Waiting, failed and delivered documents, and the operator's actions on them."""


@documents_group.command("list")
@click.option("--state", type=click.Choice(["waiting", "error", "done", "manual"]))
@click.option("--pipeline", "-p")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_command(obj: Any, state: str | None, pipeline: str | None, limit: int,
                 as_json: bool) -> None:
    """Newest first; the state is the worst of the document's deliveries."""
    with opened_store(obj) as (_config, store):
        rows = store.list_documents(state=state, pipeline=pipeline, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from syncd.cli.tables import Column, render

    render([Column("id", justify="right", no_wrap=True), Column("pipeline", drop=3),
            Column("source key"), Column("state", no_wrap=True),
            Column("number", no_wrap=True), Column("targets", drop=2),
            Column("error", drop=1)],
           [(str(r["id"]), r["pipeline"], r["source_key"], r["state"],
             ", ".join(r["numbers"]) or "-",
             ", ".join(f"{k}:{v}" for k, v in r["targets"].items()) or "-",
             (r["error"] or "")[:200]) for r in rows])
    click.echo(f"{len(rows)} document(s)")


@documents_group.command("show")
@click.argument("doc_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def show_command(obj: Any, doc_id: int, as_json: bool) -> None:
    """The document, its revisions, deliveries and every attempt with its error."""
    with opened_store(obj) as (_config, store):
        detail = store.document_detail(doc_id)
    if as_json:
        click.echo(json.dumps(detail, indent=2, default=str))
        return
    echo = click.echo
    echo(f"document {detail['id']}  {detail['source']}:{detail['source_key']}  "
         f"pipeline {detail['pipeline']}  state {detail['state']}  "
         f"revision {detail['revision']}")
    if detail["error"]:
        echo(f"  source error: {detail['error']}")
    for rev in detail["revisions"]:
        echo(f"  revision {rev['revision']}  {rev['created_at']}  {rev['content_hash'][:12]}")
    for d in detail["deliveries"]:
        echo(f"  -> {d['target']}: {d['state']}  attempts {d['attempts']}  number "
             f"{d['number'] or '-'}  remote {d['remote_ref'] or '-'}  delivered revision "
             f"{d['delivered_revision'] or '-'}")
        if d["state"] == "waiting" and d["attempts"]:
            echo(f"     next attempt {d['next_attempt_at']}Z")
        if d["error_message"]:
            echo(f"     last error: {d['error_class']} {d['error_code'] or ''}: "
                 f"{d['error_message']}")
        for a in d["attempt_history"]:
            line = f"     #{a['attempt']} {a['started_at']} {a['action']} -> {a['outcome']}"
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
