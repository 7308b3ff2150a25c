"""Indexes for the dashboard's keyset lists: a rare state (error, manual) is found by index
instead of scanning every document newest first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_state_document", "deliveries", ["state", "document_id"])
    op.create_index("ix_documents_status_id", "documents", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_documents_status_id", table_name="documents")
    op.drop_index("ix_deliveries_state_document", table_name="deliveries")
