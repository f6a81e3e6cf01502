"""machine-drafted prose: a per-series model choice and a cache of drafts

Revision ID: 0004
Revises: 0003_brief_workbench
Create Date: 2026-11-30 08:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003_brief_workbench'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_model', sa.String(length=500), nullable=True))
    op.create_table('prose_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('sources_hash', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=500), nullable=False),
    sa.Column('prompt_version', sa.String(length=40), nullable=False),
    sa.Column('lead_in', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('tokens', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('series_id', 'kind', 'sources_hash', 'model', 'prompt_version')
    )
    with op.batch_alter_table('prose_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prose_drafts_series_id'), ['series_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('prose_drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prose_drafts_series_id'))
    op.drop_table('prose_drafts')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('draft_model')
