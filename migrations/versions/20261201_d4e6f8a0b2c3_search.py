"""Search across an event's sheets: the sections as indexed, and their full text

Revision ID: d4e6f8a0b2c3
Revises: c3d5e7f9a1b2
Create Date: 2026-12-01 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e6f8a0b2c3'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'search_stamps',
        sa.Column('atelier_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('stamp', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['atelier_id'], ['ateliers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('atelier_id', 'source'),
    )
    op.create_table(
        'search_sections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('atelier_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('section', sa.String(length=20), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['atelier_id'], ['ateliers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('atelier_id', 'source', 'section'),
    )
    op.create_index(op.f('ix_search_sections_atelier_id'), 'search_sections', ['atelier_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE search_sections ADD COLUMN tsv tsvector")
        op.execute("CREATE INDEX ix_search_sections_tsv ON search_sections USING gin (tsv)")
    else:
        # The words as synthese/search.py folds them (case, accents, plurals, stems).
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(terms, tokenize='unicode61 remove_diacritics 2')")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        op.execute("DROP TABLE search_fts")
    op.drop_index(op.f('ix_search_sections_atelier_id'), table_name='search_sections')
    op.drop_table('search_sections')
    op.drop_table('search_stamps')
