"""note_tags ids are never reused (SQLite AUTOINCREMENT)

SQLite gives the highest deleted rowid to the next insert, so a page still showing a
removed suggestion could accept or reject another note's new tag by its id. PostgreSQL's
sequences never reuse ids; on PostgreSQL this migration changes nothing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 17:40:00
"""

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # Recreated with its rows, indexes and constraints; AUTOINCREMENT starts above the highest id copied.
    with op.batch_alter_table('note_tags', recreate='always', table_kwargs={'sqlite_autoincrement': True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table('note_tags', recreate='always', table_kwargs={'sqlite_autoincrement': False}):
        pass
