"""sessions.last_change_seq, notes.change_seq: what a rejoining page missed, counted per session

Every change to a stored note (edit, delete, a theme added, removed, suggested, accepted or rejected) takes
the session's next change number, so a page that was offline asks for the notes changed after the last
number it was told, whichever process made the change.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 00:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sessions') as batch:
        batch.add_column(sa.Column('last_change_seq', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('notes') as batch:
        batch.add_column(sa.Column('change_seq', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('notes') as batch:
        batch.drop_column('change_seq')
    with op.batch_alter_table('sessions') as batch:
        batch.drop_column('last_change_seq')
