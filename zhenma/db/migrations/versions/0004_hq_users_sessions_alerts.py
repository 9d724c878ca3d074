"""HQ users and sessions, alerts, the index of scans still to place (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:45:39.769961
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hq_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=60), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'admin')", name=op.f("ck_hq_users_role_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hq_users")),
        sa.UniqueConstraint("username", name=op.f("uq_hq_users_username")),
    )
    op.create_table(
        "hq_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hq_users.id"], name=op.f("fk_hq_sessions_user_id_hq_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_hq_sessions")),
    )
    with op.batch_alter_table("hq_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hq_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_hq_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("dedupe_key", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("item_index", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("parent_distributor_id", sa.Integer(), nullable=True),
        sa.Column("territory", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=True),
        sa.Column("area", sa.String(length=16), nullable=True),
        sa.Column("place_source", sa.String(length=8), nullable=True),
        sa.Column("place_precision", sa.String(length=12), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("scan_count", sa.Integer(), nullable=False),
        sa.Column("first_scan_id", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.CheckConstraint(
            "kind IN ('diversion', 'clone', 'unsold')", name=op.f("ck_alerts_kind_known")
        ),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_alerts_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_alerts_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_alerts_distributor_id_distributors"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_distributor_id"],
            ["distributors.id"],
            name=op.f("fk_alerts_parent_distributor_id_distributors"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_alerts_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_alerts_dedupe_key")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_area"), ["area"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alerts_distributor_id"), ["distributor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alerts_first_seen_at"), ["first_seen_at"], unique=False
        )
        batch_op.create_index("ix_alerts_kind_state", ["kind", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_product_id"), ["product_id"], unique=False)

    op.create_table(
        "alert_scans",
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scan_id", sa.BigInteger(), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=True),
        sa.Column("region", sa.String(length=16), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_scans_alert_id_alerts")
        ),
        sa.PrimaryKeyConstraint("alert_id", "scan_id", name=op.f("pk_alert_scans")),
    )
    with op.batch_alter_table("alert_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_scans_area"), ["area"], unique=False)

    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scans_unplaced",
            ["id"],
            unique=False,
            postgresql_where=sa.text("place_source IS NULL"),
            sqlite_where=sa.text("place_source IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("scans", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_scans_unplaced",
            postgresql_where=sa.text("place_source IS NULL"),
            sqlite_where=sa.text("place_source IS NULL"),
        )

    with op.batch_alter_table("alert_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_scans_area"))

    op.drop_table("alert_scans")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_product_id"))
        batch_op.drop_index("ix_alerts_kind_state")
        batch_op.drop_index(batch_op.f("ix_alerts_first_seen_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_distributor_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_batch_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_area"))

    op.drop_table("alerts")
    with op.batch_alter_table("hq_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hq_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_hq_sessions_expires_at"))

    op.drop_table("hq_sessions")
    op.drop_table("hq_users")
