"""reminders and escalation (催办 / 督办): appeal_escalation and notification

`appeal_escalation` holds each 催办 / 督办 an appeal earned, keyed by (appeal, kind,
due date) so that running `python -m crm escalate` twice writes nothing new;
`notification` is one message to one login, read or unread. The two thresholds are
settings (`escalation.remind_days_before`, `escalation.supervise_overdue_days`),
added with their defaults by init-db. The kinds are CHECK constraints like every
enum here (on SQLite written as comparisons, crm.db._sqlite_check). The timeline
events use the existing appeal_event table (actions `remind`, `supervise`).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ('remind', 'supervise')


def _kind(name: str) -> sa.Enum:
    return sa.Enum(*KINDS, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    op.create_table(
        'appeal_escalation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind('escalation_kind'), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('street_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ondelete='CASCADE',
                                name=op.f('fk_appeal_escalation_appeal_id_appeal')),
        sa.ForeignKeyConstraint(['street_id'], ['street.id'],
                                name=op.f('fk_appeal_escalation_street_id_street')),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id'],
                                name=op.f('fk_appeal_escalation_unit_id_unit')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_escalation')),
        sa.UniqueConstraint('appeal_id', 'kind', 'due_date',
                            name=op.f('uq_appeal_escalation_appeal_id_kind_due_date')),
    )
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', _kind('notification_kind'), nullable=False),
        sa.Column('appeal_id', sa.Integer(), nullable=False),
        sa.Column('escalation_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['appeal_id'], ['appeal.id'], ondelete='CASCADE',
                                name=op.f('fk_notification_appeal_id_appeal')),
        sa.ForeignKeyConstraint(['escalation_id'], ['appeal_escalation.id'],
                                ondelete='CASCADE',
                                name=op.f('fk_notification_escalation_id_appeal_escalation')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE',
                                name=op.f('fk_notification_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
        sa.UniqueConstraint('user_id', 'escalation_id',
                            name=op.f('uq_notification_user_id_escalation_id')),
    )
    op.create_index('ix_notification_user_read', 'notification', ['user_id', 'read_at'],
                    unique=False)
    op.create_index(op.f('ix_notification_appeal_id'), 'notification', ['appeal_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notification_appeal_id'), table_name='notification')
    op.drop_index('ix_notification_user_read', table_name='notification')
    op.drop_table('notification')
    op.drop_table('appeal_escalation')
