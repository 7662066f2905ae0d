"""Moved to crm.bulk.writer (one bulk writer package); kept so `from etl.writer import …`
still works. New code imports crm.bulk.writer."""

from crm.bulk.writer import *  # noqa: F403
from crm.bulk.writer import (  # noqa: F401
    BulkWriter,
    _sqlite_date,
    _sqlite_datetime,
    adapt_column,
    adapters,
    arrow_csv,
    jsonable,
    python_defaults,
)
