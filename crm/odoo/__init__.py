"""Odoo sync: a small gateway interface over odoo-client-lib, and the firm and appeal sync.

`gateway` talks to Odoo (and is what tests fake or serve); `firms` and `appeals` decide
what to create, update or report; `runs` records each run. Nothing here imports Streamlit.
"""
