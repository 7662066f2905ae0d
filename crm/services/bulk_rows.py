"""What a bulk service returns: per-row outcomes an importer can show with row numbers.

A bulk service (assignments.assign_firms: one cadre for many firms) never stops
at the first bad firm: each is created, found unchanged or refused with the
reason, and the page shows the report. Spreadsheets go through the importer
(etl/kinds), which shares the services' rules (crm.rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.errors import CrmError
from crm.i18n import error_text


@dataclass
class RowError:
    row: int             # the source row number the caller gave, or the 1-based position
    field: str | None    # the column at fault, when one is
    key: str             # i18n key of the reason
    message: str         # English fallback
    params: dict = field(default_factory=dict)

    def describe(self, lang: str = "zh") -> str:
        err = CrmError(self.message, key=self.key, **self.params)
        return error_text(err, lang)


@dataclass
class BulkResult:
    created: int = 0
    unchanged: int = 0
    closed: int = 0  # earlier assignments ended to make room (replace=True)
    errors: list[RowError] = field(default_factory=list)
    # source row -> id of the record created or found, for the importer's provenance rows
    records: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def refuse(self, row: int, err: CrmError, field_name: str | None = None) -> None:
        self.errors.append(RowError(row=row, field=err.params.get("field", field_name),
                                    key=err.key, message=err.message, params=dict(err.params)))

    def as_dict(self) -> dict:
        return {"created": self.created, "unchanged": self.unchanged, "closed": self.closed,
                "errors": [e.__dict__ for e in self.errors]}

