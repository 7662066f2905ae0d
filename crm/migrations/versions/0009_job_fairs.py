"""job fairs: the funnel per position as dated updates; fair kind; sign-up status; 面议;
hiring needs (用工需求)

The funnel moves from the participation (one set of counts per firm, overwritten)
to the position, as dated updates (`fair_position_update`, one per position and day),
so a fair's funnel can be read as of any date. Existing counts are kept: a
participation's counts go to its only position, or, when it has none or several, to
a position "未分岗位" (headcount 0) added for them, dated the fair's day (and the
retention figure, when there is one, 90 days later). Existing participations are
marked attended (they have results). `hiring_need`: firms asking for workers between
fairs. SQLite: ADD / DROP COLUMN in place and new tables (no batch copy of a table
others point at).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:30:00
"""
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ('applicants', 'intents', 'medical_checks', 'hired', 'retained_90d')
UNSPLIT = '未分岗位'  # the position an old participation's counts move to
RETENTION_DAYS = 90

_fair = sa.table('job_fair', sa.column('id'), sa.column('held_on', sa.Date))
_part = sa.table('fair_participation', sa.column('id'), sa.column('fair_id'),
                 sa.column('status'), *[sa.column(c) for c in COUNTS])
_pos = sa.table('fair_position', sa.column('id'), sa.column('participation_id'),
                sa.column('title'), sa.column('headcount'))
_upd = sa.table('fair_position_update', sa.column('position_id'), sa.column('as_of', sa.Date),
                sa.column('recorded_at', sa.DateTime), *[sa.column(c) for c in COUNTS])


def upgrade() -> None:
    op.add_column('job_fair', sa.Column('kind', sa.String(length=24), server_default='onsite',
                                        nullable=False))
    op.add_column('job_fair', sa.Column('version', sa.Integer(), server_default='1',
                                        nullable=False))
    op.add_column('fair_participation', sa.Column('status', sa.String(length=24),
                                                  server_default='signed_up', nullable=False))
    op.add_column('fair_participation', sa.Column('signed_up_on', sa.Date(), nullable=True))
    op.add_column('fair_position', sa.Column('pay_negotiable', sa.Boolean(),
                                             server_default=sa.false(), nullable=False))
    op.add_column('fair_position', sa.Column('requirements', sa.Text(), nullable=True))
    op.add_column('fair_position', sa.Column('version', sa.Integer(), server_default='1',
                                             nullable=False))
    op.create_table(
        'fair_position_update',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('position_id', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('applicants', sa.Integer(), nullable=False),
        sa.Column('intents', sa.Integer(), nullable=False),
        sa.Column('medical_checks', sa.Integer(), nullable=False),
        sa.Column('hired', sa.Integer(), nullable=False),
        sa.Column('retained_90d', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'],
                                name=op.f('fk_fair_position_update_actor_id_app_user')),
        sa.ForeignKeyConstraint(['position_id'], ['fair_position.id'], ondelete='CASCADE',
                                name=op.f('fk_fair_position_update_position_id_fair_position')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fair_position_update')),
        sa.UniqueConstraint('position_id', 'as_of',
                            name=op.f('uq_fair_position_update_position_id_as_of')),
    )
    op.create_index(op.f('ix_fair_position_update_position_id'), 'fair_position_update',
                    ['position_id'], unique=False)
    op.create_table(
        'hiring_need',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('headcount', sa.Integer(), nullable=True),
        sa.Column('positions', sa.Text(), nullable=True),
        sa.Column('requested_on', sa.Date(), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('fair_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'],
                                name=op.f('fk_hiring_need_appeal_id_appeal')),
        sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'],
                                name=op.f('fk_hiring_need_created_by_id_app_user')),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'],
                                name=op.f('fk_hiring_need_enterprise_id_enterprise')),
        sa.ForeignKeyConstraint(['fair_id'], ['job_fair.id'], ondelete='SET NULL',
                                name=op.f('fk_hiring_need_fair_id_job_fair')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_need')),
        sa.UniqueConstraint('appeal_id', name=op.f('uq_hiring_need_appeal_id')),
    )
    op.create_index(op.f('ix_hiring_need_enterprise_id'), 'hiring_need', ['enterprise_id'],
                    unique=False)
    _move_counts_to_positions()
    for column in COUNTS:
        op.drop_column('fair_participation', column)


def _move_counts_to_positions() -> None:
    conn = op.get_bind()
    held = dict(conn.execute(sa.select(_fair.c.id, _fair.c.held_on)).all())
    positions: dict[int, list[int]] = {}
    for pid, part in conn.execute(sa.select(_pos.c.id, _pos.c.participation_id)
                                  .order_by(_pos.c.id)):
        positions.setdefault(part, []).append(pid)
    now = dt.datetime.now().replace(microsecond=0)
    rows = []
    for part in conn.execute(sa.select(_part)).mappings():
        counts = {c: part[c] for c in COUNTS}
        if not any(counts[c] for c in COUNTS):
            continue
        mine = positions.get(part['id'], [])
        if len(mine) == 1:
            position = mine[0]
        else:
            position = conn.execute(_pos.insert().values(
                participation_id=part['id'], title=UNSPLIT, headcount=0)
                .returning(_pos.c.id)).scalar_one()
        day = held[part['fair_id']]
        if isinstance(day, str):
            day = dt.date.fromisoformat(day)
        rows.append({'position_id': position, 'as_of': day, 'recorded_at': now,
                     **counts, 'retained_90d': None})
        if counts['retained_90d'] is not None:
            rows.append({'position_id': position, 'recorded_at': now, **counts,
                         'as_of': day + dt.timedelta(days=RETENTION_DAYS)})
    if rows:
        conn.execute(_upd.insert(), rows)
    conn.execute(_part.update().values(status='attended'))


def downgrade() -> None:
    for column in COUNTS[:4]:
        op.add_column('fair_participation', sa.Column(column, sa.Integer(), server_default='0',
                                                      nullable=False))
    op.add_column('fair_participation', sa.Column('retained_90d', sa.Integer(), nullable=True))
    conn = op.get_bind()
    latest = (sa.select(_upd.c.position_id, sa.func.max(_upd.c.as_of).label('as_of'))
              .group_by(_upd.c.position_id).subquery())
    totals: dict[int, dict] = {}
    stmt = (sa.select(_pos.c.participation_id, *[_upd.c[c] for c in COUNTS])
            .join(_upd, _upd.c.position_id == _pos.c.id)
            .join(latest, sa.and_(latest.c.position_id == _upd.c.position_id,
                                  latest.c.as_of == _upd.c.as_of)))
    for row in conn.execute(stmt).mappings():
        total = totals.setdefault(row['participation_id'], dict.fromkeys(COUNTS, 0)
                                  | {'retained_90d': None})
        for c in COUNTS:
            if row[c] is not None:
                total[c] = (total[c] or 0) + row[c]
    for part_id, total in totals.items():
        conn.execute(_part.update().where(_part.c.id == part_id).values(**total))
    conn.execute(_pos.delete().where(_pos.c.title == UNSPLIT, _pos.c.headcount == 0))
    op.drop_index(op.f('ix_hiring_need_enterprise_id'), table_name='hiring_need')
    op.drop_table('hiring_need')
    op.drop_index(op.f('ix_fair_position_update_position_id'),
                  table_name='fair_position_update')
    op.drop_table('fair_position_update')
    for table, column in (('fair_position', 'version'), ('fair_position', 'requirements'),
                          ('fair_position', 'pay_negotiable'),
                          ('fair_participation', 'signed_up_on'),
                          ('fair_participation', 'status'), ('job_fair', 'version'),
                          ('job_fair', 'kind')):
        op.drop_column(table, column)
