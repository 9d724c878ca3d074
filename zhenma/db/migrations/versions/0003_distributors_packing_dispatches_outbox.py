"""distributors, API tokens, packing, dispatches, the outbox (issue 5)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:25:01.212138
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "distributors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level >= 1", name=op.f("ck_distributors_level_positive")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["distributors.id"], name=op.f("fk_distributors_parent_id_distributors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributors")),
        sa.UniqueConstraint("code", name=op.f("uq_distributors_code")),
    )
    with op.batch_alter_table("distributors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_distributors_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('device', 'hq')", name=op.f("ck_api_tokens_kind_known")),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_api_tokens_distributor_id_distributors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_tokens_distributor_id"), ["distributor_id"], unique=False
        )

    op.create_table(
        "distributor_regions",
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_distributor_regions_distributor_id_distributors"),
        ),
        sa.PrimaryKeyConstraint("distributor_id", "region", name=op.f("pk_distributor_regions")),
    )
    with op.batch_alter_table("distributor_regions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_distributor_regions_region"), ["region"], unique=False)

    op.create_table(
        "dispatches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sender_scope", sa.String(length=16), nullable=False),
        sa.Column("scan_id", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=True),
        sa.Column("receiver_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("code_index", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('item', 'carton')", name=op.f("ck_dispatches_kind_known")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_dispatches_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["receiver_id"],
            ["distributors.id"],
            name=op.f("fk_dispatches_receiver_id_distributors"),
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["distributors.id"], name=op.f("fk_dispatches_sender_id_distributors")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_dispatches_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatches")),
        sa.UniqueConstraint("sender_scope", "scan_id", name=op.f("uq_dispatches_sender_scope")),
    )
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dispatches_code", ["batch_id", "code_index", "kind", "scanned_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_dispatches_receiver_id"), ["receiver_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispatches_scanned_at"), ["scanned_at"], unique=False)

    op.create_table(
        "explicit_cartons",
        sa.Column("carton_batch_id", sa.Integer(), nullable=False),
        sa.Column("carton_index", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carton_batch_id"],
            ["batches.id"],
            name=op.f("fk_explicit_cartons_carton_batch_id_batches"),
        ),
        sa.PrimaryKeyConstraint(
            "carton_batch_id", "carton_index", name=op.f("pk_explicit_cartons")
        ),
    )
    op.create_table(
        "packing_ops",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("carton_batch_id", sa.Integer(), nullable=False),
        sa.Column("carton_index", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.CheckConstraint(
            "action IN ('pack', 'unpack')", name=op.f("ck_packing_ops_action_known")
        ),
        sa.ForeignKeyConstraint(
            ["carton_batch_id"], ["batches.id"], name=op.f("fk_packing_ops_carton_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packing_ops")),
    )
    with op.batch_alter_table("packing_ops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_packing_ops_at"), ["at"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column(
            "dispatch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=80), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'parked')", name=op.f("ck_outbox_events_state_known")
        ),
        sa.ForeignKeyConstraint(
            ["dispatch_id"], ["dispatches.id"], name=op.f("fk_outbox_events_dispatch_id_dispatches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_events_idempotency_key")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_events_dispatch_id"), ["dispatch_id"], unique=False
        )
        batch_op.create_index("ix_outbox_events_state", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "packings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("item_index", sa.BigInteger(), nullable=False),
        sa.Column("carton_batch_id", sa.Integer(), nullable=False),
        sa.Column("carton_index", sa.BigInteger(), nullable=False),
        sa.Column("packed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unpacked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "pack_op_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "unpack_op_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_packings_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["carton_batch_id"], ["batches.id"], name=op.f("fk_packings_carton_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["pack_op_id"], ["packing_ops.id"], name=op.f("fk_packings_pack_op_id_packing_ops")
        ),
        sa.ForeignKeyConstraint(
            ["unpack_op_id"], ["packing_ops.id"], name=op.f("fk_packings_unpack_op_id_packing_ops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packings")),
    )
    with op.batch_alter_table("packings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_packings_carton", ["carton_batch_id", "carton_index"], unique=False
        )
        batch_op.create_index("ix_packings_item", ["batch_id", "item_index"], unique=False)
        batch_op.create_index(
            "uq_packings_open_item",
            ["batch_id", "item_index"],
            unique=True,
            postgresql_where=sa.text("unpacked_at IS NULL"),
            sqlite_where=sa.text("unpacked_at IS NULL"),
        )

    op.create_table(
        "outbox_keys",
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["outbox_events.id"], name=op.f("fk_outbox_keys_event_id_outbox_events")
        ),
        sa.PrimaryKeyConstraint("event_id", "key", name=op.f("pk_outbox_keys")),
    )
    with op.batch_alter_table("outbox_keys", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_keys_key", ["key", "event_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("outbox_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_keys_key")

    op.drop_table("outbox_keys")
    with op.batch_alter_table("packings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_packings_open_item",
            postgresql_where=sa.text("unpacked_at IS NULL"),
            sqlite_where=sa.text("unpacked_at IS NULL"),
        )
        batch_op.drop_index("ix_packings_item")
        batch_op.drop_index("ix_packings_carton")

    op.drop_table("packings")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_state")
        batch_op.drop_index(batch_op.f("ix_outbox_events_dispatch_id"))

    op.drop_table("outbox_events")
    with op.batch_alter_table("packing_ops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_packing_ops_at"))

    op.drop_table("packing_ops")
    op.drop_table("explicit_cartons")
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatches_scanned_at"))
        batch_op.drop_index(batch_op.f("ix_dispatches_receiver_id"))
        batch_op.drop_index("ix_dispatches_code")

    op.drop_table("dispatches")
    with op.batch_alter_table("distributor_regions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distributor_regions_region"))

    op.drop_table("distributor_regions")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_distributor_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("distributors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_distributors_parent_id"))

    op.drop_table("distributors")
