"""A delivery waiting for a linked document that has not arrived names it (`awaits_key`), so
the linked document's ingest can point the wait at it and its delivery wakes the waiter.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaits_key", sa.String(length=701), nullable=True))
        batch_op.create_index("ix_deliveries_awaits", ["awaits_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_awaits")
        batch_op.drop_column("awaits_key")
