"""What a run did, counted per entity, and the issues worth a person's eye."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from crm.auth import Actor

MAX_ISSUES = 200  # kept on the run row; the counts are always complete


@dataclass
class Tally:
    created_odoo: int = 0    # records created in Odoo
    created_qifu: int = 0    # records created in Qifu (firms pulled from Odoo)
    updated_odoo: int = 0
    updated_qifu: int = 0    # firms updated from Odoo; appeals given Odoo's stage or reply
    unchanged: int = 0
    conflicts: int = 0
    skipped: int = 0
    errors: int = 0

    def summary(self) -> dict:
        return {"created": self.created_odoo + self.created_qifu,
                "updated": self.updated_odoo + self.updated_qifu,
                "unchanged": self.unchanged, "conflicts": self.conflicts,
                "errors": self.errors}

    def detail(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Context:
    """One run's settings and its running account, handed to each entity's sync."""

    actor: Actor
    dry_run: bool = False
    winner: str = "report"
    appeal_fallback: str = "crm.lead"
    district: str = ""
    batch_size: int = 500
    progress: Callable[[str, int, int], None] | None = None
    tallies: dict[str, Tally] = field(default_factory=dict)
    issues: list[dict] = field(default_factory=list)

    def tally(self, entity: str) -> Tally:
        return self.tallies.setdefault(entity, Tally())

    def issue(self, entity: str, kind: str, message: str, *, local_id: int | None = None,
              remote_id: int | None = None) -> None:
        """kind: conflict, error (the record was not synced), skipped, warning."""
        t = self.tally(entity)
        if kind == "error":
            t.errors += 1
        elif kind == "skipped":
            t.skipped += 1
        if len(self.issues) < MAX_ISSUES:
            self.issues.append({"entity": entity, "kind": kind, "local_id": local_id,
                                "remote_id": remote_id, "message": message})

    def step(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(stage, done, total)

    def summary(self) -> dict:
        totals = {"created": 0, "updated": 0, "unchanged": 0, "conflicts": 0, "errors": 0}
        for t in self.tallies.values():
            for key, value in t.summary().items():
                totals[key] += value
        return totals


def digest(values: dict) -> str:
    """A stable hash of the mapped fields: equal values, equal hash, on any machine."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def text(value) -> str:
    """Odoo's False and None as '', whitespace collapsed."""
    if value is False or value is None:
        return ""
    return " ".join(str(value).split())
