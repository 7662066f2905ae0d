"""Service functions: take a Session first, check the rules, let the caller commit."""

# The KPI rollups' flush hooks must be registered before any service writes an appeal,
# whichever service a process imports first (a page that never opens the KPI pages, a
# script): importing any service module runs this.
from crm.services import kpi_facts  # noqa: F401
