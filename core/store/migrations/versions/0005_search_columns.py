"""The dashboard searches the order id and the buyer's name or company through indexed
columns instead of scanning every stored JSON body; existing documents are backfilled from
their body, with the same normalisation ingest uses.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 00:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from syncd.store.queries import search_fields

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHUNK = 5000
KEY = sa.String(300).with_variant(postgresql.VARCHAR(300, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("buyer_name", KEY, nullable=True))
        batch_op.add_column(sa.Column("buyer_company", KEY, nullable=True))
    backfill(op.get_bind())
    # after the backfill: building an index once is cheaper than maintaining it row by row
    op.create_index("ix_documents_order_id", "documents", ["order_id", "id"])
    op.create_index("ix_documents_buyer_name", "documents", ["buyer_name", "id"])
    op.create_index("ix_documents_buyer_company", "documents", ["buyer_company", "id"],
                    sqlite_where=sa.text("buyer_company IS NOT NULL"),
                    postgresql_where=sa.text("buyer_company IS NOT NULL"))


def backfill(conn: sa.Connection) -> int:
    """Fill the search columns of every document that has a body, in id order by chunks
    (the bodies of a million documents never sit in memory at once); returns the rows set."""
    docs = sa.table("documents", sa.column("id", sa.Integer), sa.column("body", sa.Text),
                    sa.column("order_id"), sa.column("buyer_name"),
                    sa.column("buyer_company"))
    update = docs.update().where(docs.c.id == sa.bindparam("b_id")).values(
        order_id=sa.bindparam("b_order"), buyer_name=sa.bindparam("b_name"),
        buyer_company=sa.bindparam("b_company"))
    last, changed = 0, 0
    while True:
        rows = conn.execute(sa.select(docs.c.id, docs.c.body)
                            .where(docs.c.id > last, docs.c.body.is_not(None))
                            .order_by(docs.c.id).limit(CHUNK)).all()
        if not rows:
            return changed
        last = rows[-1].id
        params = []
        for r in rows:
            body = json.loads(r.body)
            buyer = body.get("buyer") or {}
            found = search_fields((body.get("references") or {}).get("order_id"),
                                  buyer.get("name"), buyer.get("company"))
            if any(found.values()):
                params.append({"b_id": r.id, "b_order": found["order_id"],
                               "b_name": found["buyer_name"],
                               "b_company": found["buyer_company"]})
        if params:
            conn.execute(update, params)
            changed += len(params)


def downgrade() -> None:
    op.drop_index("ix_documents_buyer_company", table_name="documents")
    op.drop_index("ix_documents_buyer_name", table_name="documents")
    op.drop_index("ix_documents_order_id", table_name="documents")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("buyer_company")
        batch_op.drop_column("buyer_name")
        batch_op.drop_column("order_id")
