"""sealed secrets: widen users.totp_secret and partner_links.secret, and seal what they hold

TOTP secrets and partner-link secrets were stored in plaintext; from here on they are
sealed (AES-256-GCM, `khusela.core.sealed`) under a key derived from KHUSELA_SECRET_KEY.
Sealed values are longer, so both columns grow.

The key is read here, from the same settings the platform reads (`KHUSELA_*` and the file
named by KHUSELA_CONFIG) — and only when there is a plaintext value to seal, so a fresh
database migrates without one. Run the upgrade with the server's own KHUSELA_SECRET_KEY:
values sealed under another key do not open, and sign-in and the partner link fail closed.
Values already sealed are left alone, so the upgrade can be run again safely.

The downgrade opens every sealed value back into plaintext (it needs the same key) before
narrowing the columns, so that the code of 0012 finds what it expects.

SQLite does not enforce VARCHAR lengths, and changing a column type there recreates the
table — which, with foreign keys on, would cascade-delete every user's roles — so the
widening runs on PostgreSQL only.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from khusela.core.sealed import SealedColumn, Sealer, from_settings, is_sealed

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Spelled out rather than imported from the modules, so that this migration keeps sealing
# exactly as it did when it was written (they must stay equal to `totp.SEALED` and the
# partner link's `tables.SEALED`).
_TOTP = SealedColumn(purpose="totp", table="users", column="totp_secret")
_PARTNER = SealedColumn(purpose="partner-link", table="partner_links", column="secret")
_COLUMNS = (
    # where, the row id it is bound to, width before and after, nullable
    (_TOTP, "id", 64, 200, True),
    (_PARTNER, "agency_id", 200, 400, False),
)


def upgrade() -> None:
    for where, key_column, narrow, wide, nullable in _COLUMNS:
        _resize(where, narrow, wide, nullable)
        _rewrite(where, key_column, Sealer.seal, sealed=False)


def downgrade() -> None:
    for where, key_column, narrow, wide, nullable in _COLUMNS:
        _rewrite(where, key_column, Sealer.open, sealed=True)
        _resize(where, wide, narrow, nullable)


def _resize(where: SealedColumn, old: int, new: int, nullable: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        where.table,
        where.column,
        existing_type=sa.String(length=old),
        type_=sa.String(length=new),
        existing_nullable=nullable,
    )


def _rewrite(
    where: SealedColumn,
    key_column: str,
    change: Callable[[Sealer, str, str], str],
    *,
    sealed: bool,
) -> None:
    """Apply `change` to every non-null value whose sealed state is `sealed` (others are
    already as wanted); the key is loaded only if there is something to change."""
    table = sa.table(where.table, sa.column(key_column, sa.String), sa.column(where.column, sa.String))
    key, value = table.c[key_column], table.c[where.column]
    conn = op.get_bind()
    rows = [
        r for r in conn.execute(sa.select(key, value).where(value.is_not(None))) if is_sealed(r[1]) == sealed
    ]
    if not rows:
        return
    sealer = from_settings(where)
    for row_id, stored in rows:
        conn.execute(
            sa.update(table).where(key == row_id).values({where.column: change(sealer, stored, row_id)})
        )
