"""An index of the scans still to be added to Redis by code: read during a resync

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_scans_pending_sync_serial",
        "scans",
        ["serial"],
        postgresql_where=sa.text("NOT redis_synced"),
        sqlite_where=sa.text("NOT redis_synced"),
    )


def downgrade() -> None:
    op.drop_index("ix_scans_pending_sync_serial", table_name="scans")
