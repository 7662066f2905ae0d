"""chamber financing: banks as records, meetings, needs whose status follows their matches

- `bank`: one row per bank; `bank_product.bank` (a name) becomes `bank_id`, and the
  product's key becomes bank + product name. Every bank named so far is confirmed.
- `bank_product.version`: a stale catalogue edit is refused, as for appeals.
- `chamber.confirmed`: a chamber first named by an import is created unconfirmed.
- `bank_meeting` (银企对接会) with the banks and firms present (`meeting_bank`,
  `meeting_firm`); a need may name the meeting where it was raised.
- `financing_need.status` goes: a need's status follows from its matches
  (crm.financing_status). The need keeps where it came from (appeal, visit,
  meeting), who entered it, a withdrawal (date, reason) and a version.
- `financing_match.approved_on`, filled from each match's approval event.

On SQLite the two rebuilt tables (bank_product, financing_need) are copied with
foreign keys off, as SQLite's documented procedure for such changes says, and the
foreign keys are checked before the migration ends.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 17:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _need_table(middle: list[sa.Column], tail: list[sa.Column],
                refs: tuple[str, ...] = ()) -> sa.Table:
    """financing_need with the columns every revision has, `middle` before `note` and
    `tail` at the end, for SQLite's copy (batch mode does not reflect CHECK constraints,
    so the table is given whole)."""
    md = sa.MetaData(naming_convention=_NAMING)
    for name in ('chamber', 'enterprise', *refs):
        sa.Table(name, md, sa.Column('id', sa.Integer, primary_key=True))
    return sa.Table(
        'financing_need', md,
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('enterprise_id', sa.Integer(), sa.ForeignKey('enterprise.id'), nullable=False,
                  index=True),
        sa.Column('chamber_id', sa.Integer(), sa.ForeignKey('chamber.id'), nullable=True,
                  index=True),
        sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('amount_approx', sa.Boolean(), nullable=False),
        sa.Column('purpose', sa.String(length=200), nullable=True),
        sa.Column('term_months', sa.Integer(), nullable=True),
        sa.Column('collateral', _enum('credit', 'mortgage', 'guarantee', 'pledge',
                                      name='collateral'), nullable=True),
        sa.Column('urgency', _enum('low', 'normal', 'high', name='urgency'), nullable=False),
        sa.Column('requested_on', sa.Date(), nullable=False),
        *middle,
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        *tail,
    )


def _need_before() -> sa.Table:
    """financing_need as 0001 made it."""
    return _need_table([sa.Column('status', _enum('open', 'matched', 'funded', 'closed',
                                                  name='need_status'), nullable=False)], [])


def _need_after() -> sa.Table:
    """financing_need as this revision leaves it (for the way back)."""
    return _need_table([], [
        sa.Column('appeal_id', sa.Integer(), sa.ForeignKey('appeal.id'), nullable=True,
                  index=True),
        sa.Column('visit_id', sa.Integer(), sa.ForeignKey('visit.id'), nullable=True),
        sa.Column('meeting_id', sa.Integer(), sa.ForeignKey('bank_meeting.id'), nullable=True,
                  index=True),
        sa.Column('withdrawn_on', sa.Date(), nullable=True),
        sa.Column('withdrawn_reason', sa.String(length=200), nullable=True),
        sa.Column('created_by', sa.Integer(), sa.ForeignKey('app_user.id'), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
    ], refs=('appeal', 'visit', 'bank_meeting', 'app_user'))


def _need_indexes() -> None:
    """SQLite's copy of financing_need does not carry the table's indexes over."""
    for column in ('enterprise_id', 'chamber_id'):
        op.create_index(f'ix_financing_need_{column}', 'financing_need', [column],
                        unique=False, if_not_exists=True)


def _foreign_keys(on: bool) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_foreign_keys() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"0007 left broken foreign keys: {broken[:5]}")


def upgrade() -> None:
    _foreign_keys(False)
    op.create_table(
        'bank',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('confirmed', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank')),
        sa.UniqueConstraint('name', name=op.f('uq_bank_name')),
    )
    op.execute("INSERT INTO bank (name, confirmed) SELECT DISTINCT bank, true FROM bank_product"
               " ORDER BY bank")
    with op.batch_alter_table('bank_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                      nullable=False))
    op.execute("UPDATE bank_product SET bank_id = (SELECT bank.id FROM bank"
               " WHERE bank.name = bank_product.bank)")
    with op.batch_alter_table('bank_product', schema=None) as batch_op:
        batch_op.drop_constraint('uq_bank_product_bank_name', type_='unique')
        batch_op.drop_column('bank')
        batch_op.alter_column('bank_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('version', existing_type=sa.Integer(), server_default=None)
        batch_op.create_foreign_key(batch_op.f('fk_bank_product_bank_id_bank'), 'bank',
                                    ['bank_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_bank_product_bank_id_name'),
                                          ['bank_id', 'name'])
        batch_op.create_index(batch_op.f('ix_bank_product_bank_id'), ['bank_id'], unique=False)

    op.add_column('chamber', sa.Column('confirmed', sa.Boolean(), server_default=sa.true(),
                                       nullable=False))
    with op.batch_alter_table('chamber', schema=None) as batch_op:
        batch_op.alter_column('confirmed', existing_type=sa.Boolean(), server_default=None)

    op.create_table(
        'bank_meeting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('place', sa.String(length=100), nullable=True),
        sa.Column('chamber_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['chamber_id'], ['chamber.id'],
                                name=op.f('fk_bank_meeting_chamber_id_chamber')),
        sa.ForeignKeyConstraint(['created_by'], ['app_user.id'],
                                name=op.f('fk_bank_meeting_created_by_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_meeting')),
    )
    op.create_index(op.f('ix_bank_meeting_chamber_id'), 'bank_meeting', ['chamber_id'],
                    unique=False)
    op.create_table(
        'meeting_bank',
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('bank_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['bank_id'], ['bank.id'], name=op.f('fk_meeting_bank_bank_id_bank')),
        sa.ForeignKeyConstraint(['meeting_id'], ['bank_meeting.id'],
                                name=op.f('fk_meeting_bank_meeting_id_bank_meeting'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('meeting_id', 'bank_id', name=op.f('pk_meeting_bank')),
    )
    op.create_index(op.f('ix_meeting_bank_bank_id'), 'meeting_bank', ['bank_id'], unique=False)
    op.create_table(
        'meeting_firm',
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'],
                                name=op.f('fk_meeting_firm_enterprise_id_enterprise')),
        sa.ForeignKeyConstraint(['meeting_id'], ['bank_meeting.id'],
                                name=op.f('fk_meeting_firm_meeting_id_bank_meeting'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('meeting_id', 'enterprise_id', name=op.f('pk_meeting_firm')),
    )
    op.create_index(op.f('ix_meeting_firm_enterprise_id'), 'meeting_firm', ['enterprise_id'],
                    unique=False)

    with op.batch_alter_table('financing_need', schema=None,
                              copy_from=_need_before()) as batch_op:
        batch_op.drop_column('status')
        batch_op.add_column(sa.Column('appeal_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('visit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_financing_need_appeal_id_appeal'), 'appeal',
                                    ['appeal_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_financing_need_visit_id_visit'), 'visit',
                                    ['visit_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_financing_need_meeting_id_bank_meeting'),
                                    'bank_meeting', ['meeting_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_financing_need_created_by_app_user'),
                                    'app_user', ['created_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_financing_need_appeal_id'), ['appeal_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_financing_need_meeting_id'), ['meeting_id'],
                              unique=False)
    with op.batch_alter_table('financing_need', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.Integer(), server_default=None)
    _need_indexes()

    op.add_column('financing_match', sa.Column('approved_on', sa.Date(), nullable=True))
    approved_at = ("(SELECT MIN(e.at) FROM financing_match_event e WHERE e.match_id ="
                   " financing_match.id AND e.to_status = 'approved')")
    day = (f"date({approved_at})" if op.get_bind().dialect.name == 'sqlite'
           else f"CAST({approved_at} AS DATE)")
    op.execute(f"UPDATE financing_match SET approved_on = {day}"
               " WHERE approved_amount IS NOT NULL")
    _check_foreign_keys()
    _foreign_keys(True)


def downgrade() -> None:
    _foreign_keys(False)
    op.drop_column('financing_match', 'approved_on')
    with op.batch_alter_table('financing_need', schema=None,
                              copy_from=_need_after()) as batch_op:
        batch_op.drop_index(batch_op.f('ix_financing_need_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_financing_need_appeal_id'))
        batch_op.drop_constraint(batch_op.f('fk_financing_need_created_by_app_user'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_financing_need_meeting_id_bank_meeting'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_financing_need_visit_id_visit'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_financing_need_appeal_id_appeal'),
                                 type_='foreignkey')
        for column in ('version', 'created_by', 'withdrawn_reason', 'withdrawn_on',
                       'meeting_id', 'visit_id', 'appeal_id'):
            batch_op.drop_column(column)
        batch_op.add_column(sa.Column(
            'status', _enum('open', 'matched', 'funded', 'closed', name='need_status'),
            server_default='open', nullable=False))
    _need_indexes()
    # The status a need had before 0007 stored it: funded once money came, matched while a
    # match is under way, closed when every match was turned down, else open.
    op.execute("""UPDATE financing_need SET status = CASE
        WHEN EXISTS (SELECT 1 FROM financing_match m WHERE m.need_id = financing_need.id
                     AND m.status = 'disbursed') THEN 'funded'
        WHEN EXISTS (SELECT 1 FROM financing_match m WHERE m.need_id = financing_need.id
                     AND m.status IN ('contacted', 'applied', 'approved')) THEN 'matched'
        WHEN EXISTS (SELECT 1 FROM financing_match m WHERE m.need_id = financing_need.id)
             AND NOT EXISTS (SELECT 1 FROM financing_match m WHERE m.need_id = financing_need.id
                             AND m.status <> 'rejected') THEN 'closed'
        ELSE 'open' END""")
    op.drop_table('meeting_firm')
    op.drop_table('meeting_bank')
    op.drop_table('bank_meeting')
    op.drop_column('chamber', 'confirmed')
    with op.batch_alter_table('bank_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank', sa.String(length=60), nullable=True))
    op.execute("UPDATE bank_product SET bank = (SELECT bank.name FROM bank"
               " WHERE bank.id = bank_product.bank_id)")
    with op.batch_alter_table('bank_product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bank_product_bank_id'))
        batch_op.drop_constraint(batch_op.f('uq_bank_product_bank_id_name'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_bank_product_bank_id_bank'), type_='foreignkey')
        batch_op.drop_column('bank_id')
        batch_op.drop_column('version')
        batch_op.alter_column('bank', existing_type=sa.String(length=60), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_bank_product_bank_name'),
                                          ['bank', 'name'])
    op.drop_table('bank')
    _check_foreign_keys()
    _foreign_keys(True)
