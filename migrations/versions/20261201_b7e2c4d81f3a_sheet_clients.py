"""Yjs client IDs are owned by their first writer

Revision ID: b7e2c4d81f3a
Revises: 5c1e0a7d9b42
Create Date: 2026-12-01 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2c4d81f3a'
down_revision = '5c1e0a7d9b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sheet_clients',
        sa.Column('atelier_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('credential_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['atelier_id'], ['ateliers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('atelier_id', 'client_id'),
    )


def downgrade():
    op.drop_table('sheet_clients')
