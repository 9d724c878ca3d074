"""activations, scans, code states, product page URL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:04:47.565718
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_states",
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("item_index", sa.BigInteger(), nullable=False),
        sa.Column("scan_count", sa.BigInteger(), nullable=False),
        sa.Column("first_scan_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_lat", sa.Float(), nullable=True),
        sa.Column("first_lng", sa.Float(), nullable=True),
        sa.Column("first_place", sa.String(length=120), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_lng", sa.Float(), nullable=True),
        sa.Column("last_located_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspect_reason", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_code_states")),
    )
    with op.batch_alter_table("code_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_states_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "scans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stream_id", sa.String(length=40), nullable=True),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("item_index", sa.BigInteger(), nullable=True),
        sa.Column("verdict", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("hidden_code_given", sa.Boolean(), nullable=False),
        sa.Column("ip_prefix", sa.String(length=45), nullable=True),
        sa.Column("ip_hash", sa.String(length=32), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("redis_synced", sa.Boolean(), nullable=False),
        sa.Column("place_source", sa.String(length=8), nullable=True),
        sa.Column("place_precision", sa.String(length=12), nullable=True),
        sa.Column("place_region", sa.String(length=16), nullable=True),
        sa.Column("place_name", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
        sa.UniqueConstraint("stream_id", name=op.f("uq_scans_stream_id")),
    )
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scans_pending_sync",
            ["id"],
            unique=False,
            postgresql_where=sa.text("NOT redis_synced"),
            sqlite_where=sa.text("NOT redis_synced"),
        )
        batch_op.create_index(batch_op.f("ix_scans_scanned_at"), ["scanned_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_scans_serial"), ["serial"], unique=False)

    op.create_table(
        "activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("first_index", sa.BigInteger(), nullable=False),
        sa.Column("last_index", sa.BigInteger(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("first_index <= last_index", name=op.f("ck_activations_range_ordered")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_activations_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activations")),
    )
    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activations_batch_id"), ["batch_id"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("page_url", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("page_url")

    with op.batch_alter_table("activations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activations_batch_id"))

    op.drop_table("activations")
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scans_serial"))
        batch_op.drop_index(batch_op.f("ix_scans_scanned_at"))
        batch_op.drop_index("ix_scans_pending_sync")

    op.drop_table("scans")
    with op.batch_alter_table("code_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_states_batch_id"))

    op.drop_table("code_states")
