"""Photos of the boards, and the photos of each published version

Revision ID: e5f7a9b1c3d4
Revises: d4e6f8a0b2c3
Create Date: 2026-12-01 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f7a9b1c3d4'
down_revision = 'd4e6f8a0b2c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('atelier_id', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('caption', sa.String(length=300), nullable=False),
        sa.Column('credential_id', sa.Integer(), nullable=True),
        sa.Column('taken_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['atelier_id'], ['ateliers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_photos_atelier_id'), 'photos', ['atelier_id'], unique=False)
    with op.batch_alter_table('sheet_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photos', sa.JSON(), nullable=False, server_default='[]'))


def downgrade():
    with op.batch_alter_table('sheet_versions', schema=None) as batch_op:
        batch_op.drop_column('photos')
    op.drop_index(op.f('ix_photos_atelier_id'), table_name='photos')
    op.drop_table('photos')
