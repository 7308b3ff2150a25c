"""Spine v2: numbers per document, delivery steps, links, attachments, inbox, pipeline control.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("number", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("number_series", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("issue_date", sa.Date(), nullable=True))
    # a document's number was kept per delivery: the delivered one (else the first) wins
    op.execute(sa.text(
        "UPDATE documents SET number = (SELECT d.number FROM deliveries d WHERE "
        "d.document_id = documents.id AND d.number IS NOT NULL ORDER BY "
        "CASE WHEN d.state = 'done' THEN 0 ELSE 1 END, d.id LIMIT 1), "
        "number_series = (SELECT d.number_series FROM deliveries d WHERE "
        "d.document_id = documents.id AND d.number IS NOT NULL ORDER BY "
        "CASE WHEN d.state = 'done' THEN 0 ELSE 1 END, d.id LIMIT 1), "
        "issue_date = (SELECT d.issue_date FROM deliveries d WHERE "
        "d.document_id = documents.id AND d.number IS NOT NULL ORDER BY "
        "CASE WHEN d.state = 'done' THEN 0 ELSE 1 END, d.id LIMIT 1)"))
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_number", ["number_series", "number"], unique=True)
        batch_op.create_index("ix_documents_number_text", ["number"], unique=False)
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_number")
        batch_op.drop_column("number")
        batch_op.drop_column("number_series")
        batch_op.drop_column("issue_date")
        batch_op.add_column(sa.Column("step", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("waiting_for", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("blocked_by", sa.Integer(), nullable=True))
        batch_op.create_index("ix_deliveries_blocked", ["blocked_by"], unique=False)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step", sa.String(length=100), nullable=True))
    op.create_table(
        "delivery_steps",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=500), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"],
                                name=op.f("fk_delivery_steps_delivery_id_deliveries")),
        sa.PrimaryKeyConstraint("delivery_id", "step", name=op.f("pk_delivery_steps")),
    )
    op.create_table(
        "attachment_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_attachment_blobs")),
    )
    op.create_table(
        "attachment_fetches",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_attachment_fetches_document_id_documents")),
        sa.PrimaryKeyConstraint("document_id", "url", name=op.f("pk_attachment_fetches")),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("pipeline", "sha256", name="uq_inbox_file"),
    )
    op.create_table(
        "pipeline_control",
        sa.Column("pipeline", sa.String(length=200), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("run_requested_at", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pipeline", name=op.f("pk_pipeline_control")),
    )


def downgrade() -> None:
    for table in ("pipeline_control", "inbox", "attachment_fetches", "attachment_blobs",
                  "delivery_steps"):
        op.drop_table(table)
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("step")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_blocked")
        batch_op.drop_column("blocked_by")
        batch_op.drop_column("waiting_for")
        batch_op.drop_column("step")
        batch_op.add_column(sa.Column("issue_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("number_series", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("number", sa.String(length=100), nullable=True))
        batch_op.create_index("ix_deliveries_number", ["number_series", "number"], unique=True)
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_number_text")
        batch_op.drop_index("ix_documents_number")
        batch_op.drop_column("issue_date")
        batch_op.drop_column("number_series")
        batch_op.drop_column("number")
