"""The monthly bulletin (月度通报): the street ranking of one month, for download.

The numbers are `kpi.by_street` and `kpi.compute` for the month, as of
`kpi.as_of_for` the month (the day after its last day, or today while it is running:
the same rule as the overview page), so a bulletin for a
closed month keeps judging overdue appeals on the same day however late it is
downloaded; the counts still follow later replies and callbacks. The workbook and
CSV of it are etl's (etl.app.bulletin_xlsx / bulletin_csv).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.config import get_settings
from crm.i18n import t
from crm.services import kpi
from crm.services.reference import get_setting


def bulletin(session: Session, *, actor: Actor | None = None, month: str,
             as_of: dt.date | None = None, lang: str = "zh") -> dict:
    """{title, subtitle, month, period, as_of, district, rows, notes} for `month` 'YYYY-MM'."""
    if actor is not None:
        require(actor, "kpi.bulletin")
    first, last = kpi.month_bounds(month)
    as_of = kpi.as_of_for(last, as_of)
    window = dict(actor=actor, date_from=first, date_to=last, as_of=as_of)
    weights = {**kpi.DEFAULT_WEIGHTS, **(get_setting(session, "kpi.weights", None) or {})}
    basic = get_setting(session, "kpi.basic_satisfied_weight", 0.9)
    sign = get_setting(session, "kpi.sign_limit_days", 1)
    return {
        "title": t("bulletin.title", lang, district=get_settings().district_name, year=first.year,
                   month=first.month),
        "subtitle": t("bulletin.subtitle", lang, start=first.isoformat(), end=last.isoformat(),
                      as_of=as_of.isoformat()),
        "month": month,
        "period": (first, last),
        "as_of": as_of,
        "district": kpi.compute(session, **window),
        "rows": kpi.by_street(session, **window),
        "notes": [t("bulletin.note_composite", lang,
                    response=f"{float(weights['response']):g}",
                    resolution=f"{float(weights['resolution']):g}",
                    satisfaction=f"{float(weights['satisfaction']):g}"),
                  t("bulletin.note_rates", lang, basic=f"{float(basic):g}",
                    sign=f"{float(sign):g}"),
                  t("bulletin.note_scope", lang)],
    }

