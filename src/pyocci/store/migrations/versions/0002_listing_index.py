"""Once: listings read locations from the index alone (entity_id joins the kind index).

This changed an index of the sim's entities, when the store's chain created
the sim's tables. The sim's own branch now creates that index as it became
here, and brings a database that stopped before this revision up to it (see
`pyocci.backends.sim.migrations`); this revision stays, changing nothing, so
that databases which recorded it find it.

Revision ID: 0002_listing_index
Revises: 0001_initial
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0002_listing_index"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
