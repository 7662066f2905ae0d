"""Registering a firm on the spot while logging its appeal.

The USCC is validated (both check characters) and is the key: a code already
on file is refused with the existing firm's name, so nobody creates a
duplicate by a slightly different spelling of the name.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import require
from crm.auth import Actor
from crm.errors import ValidationError
from crm.models import Enterprise
from crm.services import audit
from crm.services.firm_search import initials
from crm.services.lookup import find_street
from crm.uscc import InvalidUSCC, validate


def register_enterprise(session: Session, *, actor: Actor, uscc: str, name: str,
                        street: str | None = None, address: str | None = None,
                        industry: str | None = None, contact_name: str | None = None,
                        contact_phone: str | None = None) -> Enterprise:
    require(actor, "firm.register")
    try:
        code = validate(uscc)
    except InvalidUSCC as err:
        raise ValidationError(err.reason_en, key="firm.bad_uscc", reason=err.reason,
                              reason_en=err.reason_en) from err
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("the firm needs a name", key="firm.name_needed")
    for field, value, (table, column) in (
            ("name", name, ("enterprise", "name")), ("address", address, ("enterprise", "address")),
            ("industry", industry, ("enterprise", "industry")),
            ("contact", contact_name, ("contact", "name")),
            ("phone", contact_phone, ("contact", "phone"))):
        limit = rules.too_long(table, column, value)
        if limit:
            raise ValidationError(f"{field} is longer than {limit} characters",
                                  key="appeal.too_long", field=field, limit=limit)
    existing = session.scalar(select(Enterprise).where(
        (Enterprise.uscc == code) | (Enterprise.name == name)))
    if existing is not None:
        raise ValidationError(f"already registered as {existing.name} ({existing.uscc})",
                              key="firm.exists", name=existing.name, uscc=existing.uscc)
    street_id = find_street(session, street).id if street else actor.street_id
    firm = Enterprise(uscc=code, name=name, name_initials=initials(name), street_id=street_id,
                      address=(address or "").strip() or None,
                      industry=(industry or "").strip() or None)
    require(actor, "firm.register", firm)  # a liaison or cadre registers in their own street
    session.add(firm)
    session.flush()
    if contact_name:
        from crm.models import Contact

        session.add(Contact(enterprise_id=firm.id, name=contact_name.strip(),
                            phone=rules.phone(contact_phone)[0]
                            if (contact_phone or "").strip() else None, is_primary=True))
    audit.record(session, actor, "enterprise.register", "enterprise", firm.id, uscc=code)
    session.flush()
    return firm
