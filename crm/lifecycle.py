"""The appeal state machine as data, read by the services and by the UI.

Each action names the states it may start from, the state it leads to
(None = the state does not change), the roles that may take it, and whether
the actor must be the lead unit's clerk. The services check these rules; the
detail page shows only the actions `allowed_actions` returns.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN_STATUSES = ("received", "dispatched", "accepted")
CLOSED_STATUSES = ("replied", "callback", "archived", "merged")
FINAL_STATUSES = ("archived", "merged")


@dataclass(frozen=True)
class Action:
    name: str
    sources: frozenset[str]
    target: str | None
    roles: frozenset[str]
    lead_unit_only: bool = False  # a handler acting must belong to the lead unit


def _a(name, sources, target, roles, lead_unit_only=False) -> Action:
    return Action(name, frozenset(sources), target, frozenset(roles), lead_unit_only)


DESK = {"liaison", "admin"}  # who runs the loop at the street end
ACTIONS: dict[str, Action] = {a.name: a for a in (
    _a("dispatch", {"received"}, "dispatched", DESK),                 # 派单 / 改派 after a return
    _a("reassign", {"dispatched"}, "dispatched", DESK),               # 改派 before signing
    _a("accept", {"dispatched"}, "accepted", {"handler", "admin"}, lead_unit_only=True),
    _a("return", {"dispatched", "accepted"}, "received", {"handler", "admin"},
       lead_unit_only=True),                                          # 退单
    _a("reply", {"accepted"}, "replied", {"handler", "admin"}, lead_unit_only=True),
    _a("request_extension", {"dispatched", "accepted"}, None, {"handler", "admin"},
       lead_unit_only=True),                                          # 延期申请
    _a("decide_extension", {"dispatched", "accepted"}, None, DESK),   # 延期审批
    _a("callback", {"replied"}, "callback", DESK),                    # 回访
    _a("reopen", {"callback"}, "dispatched", DESK),                   # 重办
    _a("archive", {"callback"}, "archived", DESK),                    # 归档
    _a("merge", {"received", "dispatched", "accepted"}, "merged", DESK),  # 并单
    _a("note", {"received", "dispatched", "accepted", "replied", "callback"}, None,
       {"liaison", "handler", "admin"}),                              # progress note
)}


def allowed_actions(status: str, role: str) -> list[str]:
    """Actions a role could take from a state (scope and unit are checked by the service)."""
    return [a.name for a in ACTIONS.values() if status in a.sources and role in a.roles]

