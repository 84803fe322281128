"""Published versions of sheets, open-space proposals, the current session

Revision ID: 756e94fbb258
Revises: a94f488dd575
Create Date: 2026-11-22 21:37:51.019964

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '756e94fbb258'
down_revision = 'a94f488dd575'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows get server defaults for the new NOT NULL columns.
    op.create_table('sheet_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('atelier_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=400), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('state', sa.LargeBinary(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=False),
    sa.Column('credential_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['atelier_id'], ['ateliers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('atelier_id', 'number')
    )
    with op.batch_alter_table('sheet_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sheet_versions_atelier_id'), ['atelier_id'], unique=False)

    with op.batch_alter_table('ateliers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('question', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('proposed', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('event_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_current', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_space', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('open_space')

    with op.batch_alter_table('event_sessions', schema=None) as batch_op:
        batch_op.drop_column('is_current')

    with op.batch_alter_table('ateliers', schema=None) as batch_op:
        batch_op.drop_column('public')
        batch_op.drop_column('proposed')
        batch_op.drop_column('question')

    with op.batch_alter_table('sheet_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sheet_versions_atelier_id'))

    op.drop_table('sheet_versions')
