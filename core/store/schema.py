"""The state tables, as SQLAlchemy Core metadata; Alembic migrations create them.

Times are naive UTC everywhere (SQLite keeps no zone), so both backends share one code path.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# search keys compare by code point on both backends (SQLite's BINARY; "C" on PostgreSQL,
# whatever the database's collation), so a prefix is one index range
SEARCH_KEY = sa.String(300).with_variant(postgresql.VARCHAR(300, collation="C"), "postgresql")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("source_key", sa.String(500), nullable=False),
    sa.Column("kind", sa.String(40)),
    # ok: body holds a valid document; rejected: the source gave bad data (error for an
    # operator); repull: an operator reset a rejected document and it waits for a new pull
    sa.Column("status", sa.String(20), nullable=False, default="ok"),
    sa.Column("error", sa.Text),
    sa.Column("revision", sa.Integer, nullable=False, default=1),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("body", sa.Text),
    # the number belongs to the document: allocated once, before any target sees it, or
    # given by the source (then number_series is NULL)
    sa.Column("number", sa.String(100)),
    sa.Column("number_series", sa.String(200)),
    sa.Column("issue_date", sa.Date),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # copied from the body for the dashboard's search (`syncd.store.queries.search_fields`):
    # the order id as given, the buyer's name and company casefolded
    sa.Column("order_id", sa.String(200)),
    sa.Column("buyer_name", SEARCH_KEY),
    sa.Column("buyer_company", SEARCH_KEY),
    # the shipping id as given: a `LinkMatch` finds the linked document by it
    sa.Column("shipping_id", sa.String(200)),
    sa.UniqueConstraint("source", "source_key", name="uq_documents_identity"),
)
sa.Index("ix_documents_number", documents.c.number_series, documents.c.number, unique=True)
sa.Index("ix_documents_number_text", documents.c.number)
sa.Index("ix_documents_status_id", documents.c.status, documents.c.id)
# with the id, a search reads its matches newest first from the index alone
sa.Index("ix_documents_order_id", documents.c.order_id, documents.c.id)
sa.Index("ix_documents_shipping_id", documents.c.shipping_id, documents.c.id)
sa.Index("ix_documents_buyer_name", documents.c.buyer_name, documents.c.id)
# most buyers are people without a company: only the rows that have one are indexed
sa.Index("ix_documents_buyer_company", documents.c.buyer_company, documents.c.id,
         sqlite_where=documents.c.buyer_company.is_not(None),
         postgresql_where=documents.c.buyer_company.is_not(None))

revisions = sa.Table(
    "document_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64)),
    # NULL for the current revision (its body is documents.body); filled when superseded
    sa.Column("body", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("document_id", "revision", name="uq_document_revisions_rev"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    # waiting -> processing -> done | error | manual; done -> revised (changed content)
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    # True when an earlier attempt may have reached the remote: look it up before sending
    sa.Column("in_doubt", sa.Boolean, nullable=False, default=False),
    sa.Column("resend", sa.Boolean, nullable=False, default=False),
    sa.Column("error_class", sa.String(100)),
    sa.Column("error_code", sa.String(100)),
    sa.Column("error_message", sa.Text),
    sa.Column("remote_ref", sa.String(500)),
    sa.Column("remote_detail", sa.JSON),
    sa.Column("step", sa.String(100)),  # the step the last attempt ended in (failed at)
    # a required link not yet done at this target: why it waits (no attempt is spent)
    sa.Column("waiting_for", sa.Text),
    sa.Column("blocked_by", sa.Integer),  # the linked document's id, when it is known
    # the linked document's "source/source_key" while it has not been received
    sa.Column("awaits_key", sa.String(701)),
    sa.Column("delivered_revision", sa.Integer),
    sa.Column("lease_owner", sa.String(200)),
    # processing: the lease's end; waiting in doubt: until when an attempt may have sent
    sa.Column("lease_expires_at", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("done_at", sa.DateTime),
    sa.UniqueConstraint("document_id", "target", name="uq_deliveries_document_target"),
)
sa.Index("ix_deliveries_due", deliveries.c.pipeline, deliveries.c.state,
         deliveries.c.next_attempt_at)
sa.Index("ix_deliveries_blocked", deliveries.c.blocked_by)
sa.Index("ix_deliveries_awaits", deliveries.c.awaits_key)
sa.Index("ix_deliveries_state_document", deliveries.c.state, deliveries.c.document_id)

delivery_steps = sa.Table(
    "delivery_steps",
    metadata,
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), primary_key=True),
    sa.Column("step", sa.String(100), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("ref", sa.String(500)),
    sa.Column("detail", sa.JSON),
    sa.Column("worker", sa.String(200)),
    sa.Column("done_at", sa.DateTime, nullable=False),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(200)),
    sa.Column("action", sa.String(20), nullable=False),  # deliver | lookup | fetch
    sa.Column("step", sa.String(100)),
    sa.Column("outcome", sa.String(20), nullable=False),  # done | found | transient | permanent
    sa.Column("error_class", sa.String(100)),
    sa.Column("error_code", sa.String(100)),
    sa.Column("error_message", sa.Text),
    sa.Column("remote_ref", sa.String(500)),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=False),
)
sa.Index("ix_attempts_delivery", attempts.c.delivery_id)

cursors = sa.Table(
    "cursors",
    metadata,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("cursor", sa.JSON),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

sequences = sa.Table(
    "number_sequences",
    metadata,
    sa.Column("series", sa.String(200), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),  # 0 when the series never resets
    sa.Column("format", sa.String(200), nullable=False),
    sa.Column("last_value", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("pipeline", sa.String(200)),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("document_id", sa.Integer),
    sa.Column("delivery_id", sa.Integer),
    sa.Column("source_key", sa.String(500)),
    sa.Column("actor", sa.String(200)),
    sa.Column("message", sa.Text),
    sa.Column("data", sa.JSON),
)
sa.Index("ix_events_at", events.c.at)
sa.Index("ix_events_document", events.c.document_id)

runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("last_started_at", sa.DateTime),
    sa.Column("last_finished_at", sa.DateTime),
    sa.Column("next_run_at", sa.DateTime),
    sa.Column("last_summary", sa.JSON),
)

reloads = sa.Table(
    "reloads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date, nullable=False),  # exclusive
    sa.Column("done_until", sa.Date, nullable=False),  # windows before this date are read
    sa.Column("documents", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(20), nullable=False),  # running | done
    sa.Column("actor", sa.String(200)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

blobs = sa.Table(
    "attachment_blobs",
    metadata,
    # content-addressed: every worker reads the same bytes, stored once however often sent
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

rendered_files = sa.Table(
    "rendered_files",
    metadata,
    # sha256 of (renderer settings, the whole numbered document): the file every target and
    # every retry of that document gets, kept as issued
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),  # bytes in attachment_blobs
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

fetches = sa.Table(
    "attachment_fetches",
    metadata,
    # a url attachment the engine fetched with Source.fetch_attachment
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), primary_key=True),
    sa.Column("url", sa.String(2000), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("fetched_at", sa.DateTime, nullable=False),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pipeline", sa.String(200), nullable=False),
    sa.Column("filename", sa.String(500), nullable=False),
    sa.Column("media_type", sa.String(200), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),  # bytes in attachment_blobs
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(200)),
    sa.UniqueConstraint("pipeline", "sha256", name="uq_inbox_file"),
)

control = sa.Table(
    "pipeline_control",
    metadata,
    # operator switches a running daemon polls: pause / resume / run now
    sa.Column("pipeline", sa.String(200), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, default=False),
    sa.Column("run_requested_at", sa.DateTime),
    sa.Column("actor", sa.String(200)),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
