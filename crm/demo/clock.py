"""The demo's timestamps and dates, pre-formatted the way SQLAlchemy stores them.

Rows for the bulk loader (crm.bulk.loader) are plain tuples of str/int/float/None:
timestamps as 'YYYY-MM-DD HH:MM:SS.000000' (SQLAlchemy's SQLite format, also valid
PostgreSQL input), dates as 'YYYY-MM-DD', so the app reads the rows back exactly as
if it had written them.
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.date(1990, 1, 1)
_LAST = dt.date(2031, 1, 1)


class Clock:
    """Timestamps as int seconds since EPOCH, formatted through lookup tables.

    strftime costs ~1.5 µs; a million appeals carry ~10 million timestamps, so a
    day table plus a time-of-day table (one concatenation per value) is ~10× cheaper.
    """

    def __init__(self) -> None:
        n_days = (_LAST - EPOCH).days
        self.days = [(EPOCH + dt.timedelta(days=i)).isoformat() for i in range(n_days)]
        self.tods = [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000000"
                     for s in range(86400)]

    @staticmethod
    def day(d: dt.date) -> int:
        return (d - EPOCH).days

    @staticmethod
    def at(d: dt.date, hour: int = 0, minute: int = 0) -> int:
        return (d - EPOCH).days * 86400 + hour * 3600 + minute * 60

    def ts(self, t: int) -> str:
        return self.days[t // 86400] + self.tods[t % 86400]

    def date(self, day: int) -> str:
        return self.days[day]
