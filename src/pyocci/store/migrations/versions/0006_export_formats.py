"""Image exports in another disk format: the format asked for and the cloud's, the
stage a transfer is at (reading, converting, uploading) with its percent, and whether
the target confirmed the checksum.

Revision ID: 0006_export_formats
Revises: 0005_exports
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_export_formats"
down_revision: str | None = "0005_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("export_format", sa.String),
    ("source_format", sa.String),
    ("stage", sa.String),
    ("stage_percent", sa.Integer),
    ("checksum_verified", sa.Boolean),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("occi_exports", sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("occi_exports") as table:
        for name, _kind in reversed(_COLUMNS):
            table.drop_column(name)
