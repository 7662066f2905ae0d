"""月度通报: one month's street ranking, as sent round the district, to download as a
formatted Excel workbook or CSV."""

import streamlit as st

from crm.services import bulletin
from crm.ui import kpi_view as kv
from crm.ui.actions import load
from crm.ui.plain import plain
from crm.ui.state import language, require_page, tr
from etl import app as etl_app

actor = require_page("kpi_bulletin")
st.title(tr("kpi.bulletin_title"))
months = kv.options()["months"]
if not months:
    st.info(tr("kpi.bulletin.no_months"))
    st.stop()
# The newest month is usually still running: the bulletin is for the one before.
month = st.selectbox(tr("kpi.bulletin.month"), months, index=min(1, len(months) - 1),
                     key="bulletin_month")
rev = kv.revision()
data = load(bulletin.bulletin, month=month, lang=language(), version=rev)
st.subheader(plain(data["title"]))
st.caption(plain(data["subtitle"]))
left, right = st.columns(2)
left.download_button(tr("kpi.bulletin.download_xlsx"),
                     load(etl_app.bulletin_xlsx, month=month, lang=language(), version=rev),
                     file_name=f"bulletin-{month}.xlsx", key="bulletin_xlsx",
                     mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
right.download_button(tr("kpi.bulletin.download_csv"),
                      load(etl_app.bulletin_csv, month=month, lang=language(), version=rev),
                      file_name=f"bulletin-{month}.csv", mime="text/csv", key="bulletin_csv")
kv.ranking_chart(data["rows"], "street")
kv.kpi_table(data["rows"], "street", key="bulletin_table")
for note in data["notes"]:
    st.caption(plain(note))
