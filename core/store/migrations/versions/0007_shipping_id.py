"""Documents keep their shipping id in an indexed column, so a link that names its document
by references (`syncd.model.LinkMatch`, e.g. a return's credit note naming its shipment's
invoice) is resolved by the engine from any host; existing documents are backfilled from their
body.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from syncd.store.queries import reference_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_id", sa.String(length=200), nullable=True))
    backfill(op.get_bind())
    op.create_index("ix_documents_shipping_id", "documents", ["shipping_id", "id"])


def backfill(conn: sa.Connection) -> int:
    """Fill `shipping_id` of every document that has a body, in id order by chunks; returns
    the rows set."""
    docs = sa.table("documents", sa.column("id", sa.Integer), sa.column("body", sa.Text),
                    sa.column("shipping_id"))
    update = docs.update().where(docs.c.id == sa.bindparam("b_id")).values(
        shipping_id=sa.bindparam("b_shipping"))
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
            found = reference_key((json.loads(r.body).get("references") or {})
                                  .get("shipping_id"))
            if found:
                params.append({"b_id": r.id, "b_shipping": found})
        if params:
            conn.execute(update, params)
            changed += len(params)


def downgrade() -> None:
    op.drop_index("ix_documents_shipping_id", table_name="documents")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("shipping_id")
