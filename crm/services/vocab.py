"""The fixed vocabularies the app and the command line offer as choices."""

from __future__ import annotations

from crm.models.enterprise import SIZES
from crm.models.financing import COLLATERAL, URGENCY
from crm.models.imports import IMPORT_KINDS
from crm.models.people import ROLES

__all__ = ["COLLATERAL", "IMPORT_KINDS", "ROLES", "SIZES", "URGENCY"]
