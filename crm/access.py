"""Who may do what, as data: one capability table and one `require` every service calls.

The table (`GRANTS`) says, for each capability, which roles hold it and over
which records (the scope rule). A scope rule is written twice on purpose, and
the twins are tested against each other (tests/test_access.py):

- `in_scope` judges one record in Python (a service about to change it), and
- `condition` turns the same rule into a SQL condition for lists, so a query
  filters in the database and never reads what the actor may not see.

Scopes:

| scope       | a record is in scope when …                                                |
|-------------|-----------------------------------------------------------------------------|
| `all`       | always                                                                      |
| `street`    | it belongs to the actor's street: its own (firm, appeal, building, unit,   |
|             | import batch), its firm's or building's (assignment, visit); a person of   |
|             | the street or of no street                                                  |
| `own_firms` | its firm is one the actor (a cadre) serves now                              |
| `unit`      | it is an appeal dispatched to the actor's unit (lead or co-handling)        |
| `lead_unit` | it is an appeal whose lead unit is the actor's unit                         |
| `chamber`   | its firm is a member of the actor's chamber                                 |
| `self`      | it is the actor's own (their person, their assignments and visits, their login) |

The menu follows from the same table: a screen is shown to the roles holding
the capability it needs (`PAGE_CAPABILITY`). `SYSTEM` is the operator at the
command line (the OS user who can read the database file anyway): every
capability, everywhere.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session, object_session

from crm.auth import Actor
from crm.errors import Forbidden
from crm.models import (
    Appeal,
    AppealUnit,
    Assignment,
    BankMeeting,
    Building,
    Enterprise,
    FairParticipation,
    FairPosition,
    FinancingMatch,
    FinancingNeed,
    HiringNeed,
    ImportBatch,
    JobFair,
    Person,
    Unit,
    User,
    Visit,
    chamber_member,
)
from crm.models.people import ROLES

ALL, STREET, OWN_FIRMS, UNIT, LEAD_UNIT, CHAMBER, SELF = (
    "all", "street", "own_firms", "unit", "lead_unit", "chamber", "self")
SCOPES = (ALL, STREET, OWN_FIRMS, UNIT, LEAD_UNIT, CHAMBER, SELF)

SYSTEM_ROLE = "system"
SYSTEM = Actor(id=None, username="system", display_name="system", role=SYSTEM_ROLE)

_DESK = {"liaison": STREET, "admin": ALL}                       # the street end of the loop
_LEAD = {"handler": LEAD_UNIT, "admin": ALL}                    # the lead unit's clerk
_READERS = {"official": ALL, "admin": ALL}
_ADMIN = {"admin": ALL}

# capability -> {role: scope}. A role missing from a row does not hold the capability.
GRANTS: dict[str, dict[str, str]] = {
    "home.view": {role: ALL for role in ROLES},
    # firms
    "firm.read": {"liaison": STREET, "cadre": OWN_FIRMS, "handler": ALL, "chamber": CHAMBER,
                  "employment": ALL, **_READERS},
    "firm.register": {"liaison": STREET, "cadre": STREET, "admin": ALL},
    "firm.serve": {"cadre": SELF},                              # 我的包联企业
    "firm.review": {"liaison": STREET, "admin": ALL},           # confirm / merge unconfirmed
    # appeals: reading, logging, and one capability per lifecycle action (crm.lifecycle)
    "appeal.read": {"liaison": STREET, "cadre": OWN_FIRMS, "handler": UNIT, **_READERS},
    "appeal.log": {"liaison": STREET, "cadre": OWN_FIRMS, "admin": ALL},
    "appeal.dispatch": _DESK,
    "appeal.reassign": _DESK,
    "appeal.accept": _LEAD,
    "appeal.return": _LEAD,
    "appeal.reply": _LEAD,
    "appeal.request_extension": _LEAD,
    "appeal.decide_extension": _DESK,
    "appeal.callback": _DESK,
    "appeal.reopen": _DESK,
    "appeal.archive": _DESK,
    "appeal.merge": _DESK,
    "appeal.note": {"liaison": STREET, "handler": UNIT, "admin": ALL},
    "appeal.escalate": _ADMIN,                                # 催办 / 督办 run (the cron job)
    "notification.read": {role: SELF for role in ROLES},     # one's own 通知
    # 包联送
    "visit.record": {"cadre": OWN_FIRMS, "liaison": STREET, "admin": ALL},
    "visit.credit": {"cadre": SELF, "liaison": STREET, "admin": ALL},  # whom a visit names
    "assignment.read": {"liaison": STREET, "cadre": SELF, **_READERS},
    "assignment.manage": {"liaison": STREET, "admin": ALL},
    "coverage.read": {"liaison": STREET, "cadre": OWN_FIRMS, **_READERS},
    "coverage.district": {"liaison": STREET, **_READERS},    # the 包联覆盖 page: beyond one's own
    "coverage.configure": _ADMIN,
    # KPIs
    "kpi.read": {"liaison": STREET, **_READERS},
    "kpi.breakdown": _READERS,
    "kpi.bulletin": _READERS,
    # financing and job fairs
    "financing.read": {"chamber": CHAMBER, "liaison": STREET, "cadre": OWN_FIRMS,
                       **_READERS},                           # needs, matches and loans
    "financing.raise": {"liaison": STREET, "cadre": OWN_FIRMS, "chamber": CHAMBER,
                        "admin": ALL},                        # put a firm's need on file
    "financing.manage": {"chamber": CHAMBER, "admin": ALL},   # match, pipeline, meetings
    "financing.catalogue": {"chamber": ALL, "admin": ALL},    # banks and the product catalogue
    "chamber.manage": _ADMIN,                                 # create, rename, confirm chambers
    "chamber.members": {"chamber": CHAMBER, "admin": ALL},    # a clerk: their own chamber's roll
    # job fairs: a liaison sees their street's firms' participation (and the fairs their
    # street organised or its firms went to); hiring needs between fairs (用工需求)
    "jobfair.read": {"employment": ALL, "liaison": STREET, **_READERS},
    "jobfair.manage": {"employment": ALL, "admin": ALL},
    "hiring.read": {"employment": ALL, "liaison": STREET, **_READERS},
    "hiring.manage": {"employment": ALL, "liaison": STREET, "admin": ALL},
    # spreadsheets
    "import.run": {"liaison": STREET, "admin": ALL},
    "import.export": _ADMIN,
    # administration
    "reference.manage": _ADMIN,
    "user.manage": _ADMIN,
    "account.password": {role: SELF for role in ROLES},     # one's own password
    "access.view": _ADMIN,
    "audit.read": _ADMIN,                                   # search the audit log
    # Odoo sync (crm.odoo): run it and read its runs; change its settings
    "odoo.sync": _ADMIN,
    "odoo.configure": _ADMIN,
}
CAPABILITIES: tuple[str, ...] = tuple(GRANTS)

# The capability each screen needs; the menu is every screen whose capability the role holds.
PAGE_CAPABILITY: dict[str, str] = {
    "home": "home.view", "enterprises": "firm.read", "log_appeal": "appeal.log",
    "appeals": "appeal.read", "appeal": "appeal.read", "my_firms": "firm.serve",
    "visit": "visit.record", "coverage": "coverage.district", "assignments": "assignment.manage",
    "kpi": "kpi.read", "kpi_breakdown": "kpi.breakdown", "kpi_bulletin": "kpi.bulletin",
    "users": "user.manage", "access": "access.view", "reference": "reference.manage",
    "audit": "audit.read",
    "imports": "import.run", "notifications": "notification.read",
    # financing pages (finui): the board, the catalogue, meetings, the KPIs
    "financing": "financing.read", "bank_products": "financing.catalogue",
    "meetings": "financing.read", "financing_kpi": "financing.read",
    "odoo": "odoo.sync",
    "jobfairs": "jobfair.read", "jobfair": "jobfair.read", "hiring_needs": "hiring.read",
}


def scope_of(role: str, capability: str) -> str | None:
    """The scope in which `role` holds `capability`, or None."""
    if capability not in GRANTS:
        raise KeyError(f"unknown capability {capability!r}")
    if role == SYSTEM_ROLE:
        return ALL
    return GRANTS[capability].get(role)


def holds(actor: Actor | None, capability: str) -> bool:
    return actor is not None and scope_of(actor.role, capability) is not None


def role_pages(role: str) -> tuple[str, ...]:
    """The screens a role may open, in PAGE_CAPABILITY order (home first)."""
    return tuple(page for page, cap in PAGE_CAPABILITY.items()
                 if scope_of(role, cap) is not None)


ROLE_PAGES: dict[str, tuple[str, ...]] = {role: role_pages(role) for role in ROLES}


def may_open(role: str, page: str) -> bool:
    return page in PAGE_CAPABILITY and scope_of(role, PAGE_CAPABILITY[page]) is not None


# --- one record, in Python ---------------------------------------------------------------------

def _cadre_serves(session: Session, person_id: int | None, enterprise_id: int | None) -> bool:
    if not person_id or not enterprise_id:
        return False
    return session.scalar(select(Assignment.id).where(
        Assignment.kind == "cadre_enterprise", Assignment.person_id == person_id,
        Assignment.enterprise_id == enterprise_id, Assignment.end_date.is_(None))
        .limit(1)) is not None


def _chamber_has(session: Session, chamber_id: int | None, enterprise_id: int | None) -> bool:
    if not chamber_id or not enterprise_id:
        return False
    return session.scalar(select(chamber_member.c.enterprise_id).where(
        chamber_member.c.chamber_id == chamber_id,
        chamber_member.c.enterprise_id == enterprise_id).limit(1)) is not None


def _firm_id(record) -> int | None:
    if isinstance(record, Enterprise):
        return record.id
    if isinstance(record, FinancingMatch):
        return record.need.enterprise_id
    return getattr(record, "enterprise_id", None)


def _street_id(session: Session | None, record) -> int | None:
    """The street a record belongs to (its own, or its firm's or building's)."""
    if isinstance(record, (Enterprise, Appeal, Building, Unit, ImportBatch, Person, User)):
        return record.street_id
    if isinstance(record, (FairParticipation, HiringNeed)):
        return session.scalar(select(Enterprise.street_id)
                              .where(Enterprise.id == record.enterprise_id))
    if isinstance(record, FairPosition):
        return session.scalar(select(Enterprise.street_id).join(
            FairParticipation, FairParticipation.enterprise_id == Enterprise.id)
            .where(FairParticipation.id == record.participation_id))
    if isinstance(record, BankMeeting):
        return None  # a meeting belongs to a chamber, not to a street
    if isinstance(record, (Assignment, Visit, FinancingNeed)):
        if record.enterprise_id is not None:
            return session.scalar(select(Enterprise.street_id)
                                  .where(Enterprise.id == record.enterprise_id))
        building_id = getattr(record, "building_id", None)
        if building_id is not None:
            return session.scalar(select(Building.street_id).where(Building.id == building_id))
        return None
    raise TypeError(f"no street rule for {type(record).__name__}")


def in_scope(actor: Actor, scope: str, record) -> bool:
    """Whether one record lies in `scope` for `actor` (the Python twin of `condition`)."""
    if scope == ALL:
        return True
    session = object_session(record)
    if scope == STREET:
        if not actor.street_id:
            return False
        if isinstance(record, JobFair):  # organised by the street, or its firms went
            return record.street_id == actor.street_id or session.scalar(
                select(FairParticipation.id).join(
                    Enterprise, Enterprise.id == FairParticipation.enterprise_id)
                .where(FairParticipation.fair_id == record.id,
                       Enterprise.street_id == actor.street_id).limit(1)) is not None
        street = _street_id(session, record)
        if isinstance(record, Person) and street is None:
            return True  # district-wide people (leaders of no street) serve any street
        return street == actor.street_id
    if scope == OWN_FIRMS:
        if isinstance(record, Person):
            return bool(actor.person_id) and record.id == actor.person_id
        return session is not None and _cadre_serves(session, actor.person_id,
                                                     _firm_id(record))
    if scope == UNIT:
        if not isinstance(record, Appeal) or not actor.unit_id:
            return False
        return any(au.active and au.unit_id == actor.unit_id for au in record.units)
    if scope == LEAD_UNIT:
        return isinstance(record, Appeal) and bool(actor.unit_id) \
            and record.lead_unit_id == actor.unit_id
    if scope == CHAMBER:
        if isinstance(record, BankMeeting):
            return bool(actor.chamber_id) and record.chamber_id == actor.chamber_id
        return session is not None and _chamber_has(session, actor.chamber_id, _firm_id(record))
    if scope == SELF:
        if isinstance(record, User):
            return record.id == actor.id
        if isinstance(record, Person):
            return bool(actor.person_id) and record.id == actor.person_id
        return bool(actor.person_id) and getattr(record, "person_id", None) == actor.person_id
    raise ValueError(f"unknown scope {scope!r}")


def allows(actor: Actor | None, capability: str, record=None) -> bool:
    """`require` as a yes/no, for menus and buttons."""
    if actor is None:
        return False
    scope = scope_of(actor.role, capability)
    if scope is None:
        return False
    return record is None or in_scope(actor, scope, record)


def require(actor: Actor | None, capability: str, record=None) -> str:
    """Refuse unless the actor's role holds `capability` and `record` (if any) is in its scope.

    Returns the scope, for services that filter a list by it. Every service
    function that takes an actor calls this before it reads or writes.
    """
    if actor is None:
        raise Forbidden(f"{capability}: nobody is logged in", key="access.denied",
                        capability=capability)
    scope = scope_of(actor.role, capability)
    if scope is None:
        raise Forbidden(f"a {actor.role} may not {capability}", key="access.denied",
                        capability=capability)
    if record is not None and not in_scope(actor, scope, record):
        raise Forbidden(f"{capability}: outside the {actor.role}'s {scope}",
                        key="access.out_of_scope", capability=capability)
    return scope


# --- many records, in SQL ----------------------------------------------------------------------

def _served_firms(actor: Actor):
    return select(Assignment.enterprise_id).where(
        Assignment.kind == "cadre_enterprise", Assignment.person_id == actor.person_id,
        Assignment.end_date.is_(None))


def _member_firms(actor: Actor):
    return select(chamber_member.c.enterprise_id).where(
        chamber_member.c.chamber_id == actor.chamber_id)


def _street_firms(actor: Actor):
    return select(Enterprise.id).where(Enterprise.street_id == actor.street_id)


def _firm_column(model):
    return {Enterprise: Enterprise.id, Appeal: Appeal.enterprise_id,
            Visit: Visit.enterprise_id, Assignment: Assignment.enterprise_id,
            FinancingNeed: FinancingNeed.enterprise_id,
            FairParticipation: FairParticipation.enterprise_id,
            HiringNeed: HiringNeed.enterprise_id}.get(model)


def scope_condition(actor: Actor, scope: str, model) -> ColumnElement[bool]:
    """The SQL twin of `in_scope`: rows of `model` within `scope` for `actor`."""
    if scope == ALL:
        return true()
    if scope == STREET:
        if not actor.street_id:
            return false()
        if model in (Enterprise, Appeal, Building, Unit, ImportBatch, User):
            return model.street_id == actor.street_id
        if model is Person:
            return or_(Person.street_id == actor.street_id, Person.street_id.is_(None))
        if model in (Visit, FinancingNeed, FairParticipation, HiringNeed):
            return model.enterprise_id.in_(_street_firms(actor))
        if model is FairPosition:
            return FairPosition.participation_id.in_(select(FairParticipation.id).where(
                FairParticipation.enterprise_id.in_(_street_firms(actor))))
        if model is JobFair:
            return or_(JobFair.street_id == actor.street_id,
                       JobFair.id.in_(select(FairParticipation.fair_id).where(
                           FairParticipation.enterprise_id.in_(_street_firms(actor)))))
        if model is Assignment:
            return or_(Assignment.enterprise_id.in_(_street_firms(actor)),
                       Assignment.building_id.in_(select(Building.id).where(
                           Building.street_id == actor.street_id)))
    if scope == OWN_FIRMS:
        if model is Person:
            return Person.id == actor.person_id if actor.person_id else false()
        column = _firm_column(model)
        if column is not None:
            return column.in_(_served_firms(actor)) if actor.person_id else false()
    if scope == CHAMBER:
        if model is BankMeeting:
            return BankMeeting.chamber_id == actor.chamber_id if actor.chamber_id else false()
        column = _firm_column(model)
        if column is not None:
            return column.in_(_member_firms(actor)) if actor.chamber_id else false()
    if scope in (UNIT, LEAD_UNIT):
        if model is not Appeal or not actor.unit_id:
            return false()
        if scope == LEAD_UNIT:
            return Appeal.lead_unit_id == actor.unit_id
        # IN, not a correlated EXISTS: the unit's rows come from the appeal_unit(unit_id)
        # index instead of probing it once per appeal (a full scan on a million appeals)
        return Appeal.id.in_(select(AppealUnit.appeal_id).where(
            AppealUnit.unit_id == actor.unit_id, AppealUnit.active))
    if scope == SELF:
        if model is User:
            return User.id == actor.id
        if model is Person:
            return Person.id == actor.person_id if actor.person_id else false()
        if model in (Assignment, Visit):
            return model.person_id == actor.person_id if actor.person_id else false()
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return false()  # the scope says nothing about this kind of record: none of it


def condition(actor: Actor | None, capability: str, model) -> ColumnElement[bool]:
    """Rows of `model` the actor may reach with `capability` (nothing without it)."""
    if actor is None:
        return false()
    scope = scope_of(actor.role, capability)
    return false() if scope is None else scope_condition(actor, scope, model)

