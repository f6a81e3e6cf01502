"""brief workbench: series participant count and brief settings, section review status

Revision ID: 0003_brief_workbench
Revises: 0002
Create Date: 2026-11-30 08:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_brief_workbench'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('participant_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('brief_settings', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section_status', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.drop_column('section_status')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_column('brief_settings')
        batch_op.drop_column('participant_count')
