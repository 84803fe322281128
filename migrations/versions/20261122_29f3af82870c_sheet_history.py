"""History of sheets: the document at each compaction

Revision ID: 29f3af82870c
Revises: 756e94fbb258
Create Date: 2026-11-22 22:07:59.765688

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '29f3af82870c'
down_revision = '756e94fbb258'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sheet_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('atelier_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['atelier_id'], ['ateliers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('atelier_id', 'seq')
    )
    with op.batch_alter_table('sheet_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sheet_history_atelier_id'), ['atelier_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sheet_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sheet_history_atelier_id'))

    op.drop_table('sheet_history')
