"""The only Streamlit code in crm/: session state, cached resources, actions, shared widgets.

Pages import from here; the domain (crm/services, crm/models …) never imports
Streamlit, so the CLI, the ETL and the tests use the same services without it.
"""
