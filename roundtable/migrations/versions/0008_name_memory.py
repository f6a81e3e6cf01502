"""name_memory: the parts of names found in a session, as keyed digests (never the words)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'name_memory',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['series_id'], ['series.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('session_id', 'digest'),
    )
    op.create_index(op.f('ix_name_memory_series_id'), 'name_memory', ['series_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_name_memory_series_id'), table_name='name_memory')
    op.drop_table('name_memory')
