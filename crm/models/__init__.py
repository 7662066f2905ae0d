"""All models, imported here so `Base.metadata` knows every table (Alembic reads it)."""

from crm.db import Base
from crm.models.appeal import Appeal, AppealEvent, AppealUnit, Category, Extension
from crm.models.assignment import Assignment, Policy, Visit, visit_policy
from crm.models.audit import AuditLog
from crm.models.enterprise import Contact, Enterprise, EnterpriseAlias, Tag, enterprise_tag
from crm.models.escalation import Escalation, Notification
from crm.models.financing import (
    Bank,
    BankMeeting,
    BankProduct,
    Chamber,
    FinancingMatch,
    FinancingMatchEvent,
    FinancingNeed,
    chamber_member,
    meeting_bank,
    meeting_firm,
)
from crm.models.imports import CategoryWord, HeaderMapping, ImportBatch, ImportRecord
from crm.models.jobfair import (
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    HiringNeed,
    JobFair,
)
from crm.models.kpi import kpi_day_cell, kpi_day_street, kpi_delta, kpi_state
from crm.models.org import Building, Community, Street, Unit
from crm.models.people import Person, User
from crm.models.session import LoginFailure, UserSession
from crm.models.settings import CalendarDay, Setting
from crm.models.sync import OdooMapping, OdooRun

__all__ = [
    "Appeal", "AppealEvent", "AppealUnit", "Assignment", "AuditLog", "Bank", "BankMeeting",
    "BankProduct", "Base",
    "Building", "CalendarDay", "Category", "CategoryWord", "Chamber", "Community", "Contact",
    "Enterprise", "EnterpriseAlias", "Escalation",
    "Extension", "FairParticipation", "FairPosition", "FairPositionUpdate", "FinancingMatch",
    "FinancingMatchEvent", "FinancingNeed", "HeaderMapping", "HiringNeed", "ImportBatch",
    "ImportRecord", "JobFair", "LoginFailure", "Notification", "OdooMapping", "OdooRun", "Person",
    "Policy", "Setting", "Street",
    "Tag", "Unit", "User", "UserSession", "Visit",
    "chamber_member", "enterprise_tag", "kpi_day_cell", "kpi_day_street", "kpi_delta",
    "kpi_state",
    "meeting_bank", "meeting_firm", "visit_policy",
]
