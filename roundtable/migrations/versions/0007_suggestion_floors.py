"""series.suggestion_floors: the live chips' floor per suggester, computed from the series' coded notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series') as batch:
        batch.add_column(sa.Column('suggestion_floors', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('series') as batch:
        batch.drop_column('suggestion_floors')
