"""One error family for everything that can go wrong talking to Odoo.

odoo-client-lib lets three kinds of failure through: its own `AuthenticationError`,
`xmlrpc.client.Fault` (string codes on /xmlrpc, int codes on /xmlrpc/2) and
`JsonRPCException` (Odoo's error object); below those, socket and HTTP errors. The
gateway turns each into one of these, so the CLI prints one line and the page one
message, and the sync can tell "retry later" (unreachable, timeout) from "fix the
settings" (auth) from "this record is refused" (fault).
"""

from __future__ import annotations

from crm.errors import CrmError


class OdooError(CrmError):
    key = "odoo.error.fault"
    transient = False


class OdooNotConfigured(OdooError):
    key = "odoo.error.not_configured"


class OdooAuthError(OdooError):
    """Wrong database, login, password or API key."""

    key = "odoo.error.auth"


class OdooUnreachable(OdooError):
    """Nothing answered (refused, DNS, reset): the request may not have arrived."""

    key = "odoo.error.unreachable"
    transient = True


class OdooTimeout(OdooError):
    """No answer in time: the request may or may not have been carried out."""

    key = "odoo.error.timeout"
    transient = True


class OdooFault(OdooError):
    """Odoo refused or failed a call (a user error, an access error, a server error)."""

    key = "odoo.error.fault"


class OdooModelMissing(OdooFault):
    """The model is not installed on that server (helpdesk.ticket on Community)."""

    key = "odoo.error.model_missing"


class OdooBusy(OdooError):
    """Another run is under way: two at once would both create what neither has seen."""

    key = "odoo.error.busy"
