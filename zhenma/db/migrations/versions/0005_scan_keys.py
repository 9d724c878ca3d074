"""A key per scan made by the web worker, unique: a scan stored once whichever path stores it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scans", sa.Column("scan_key", sa.String(length=24), nullable=True))
    op.create_index("uq_scans_scan_key", "scans", ["scan_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_scans_scan_key", table_name="scans")
    op.drop_column("scans", "scan_key")
