"""Lifecycles as data: one small state-machine type, and the appeal's 12345 loop in it.

A `StateMachine` lists its states and its actions. Each action names the
states it may start from, the state it leads to (None = the state does not
change), the capability that says who may take it (crm.access.GRANTS: roles
and the scope they act in), and guards: named conditions on the record that
must hold as well (a callback that went badly, an extension request pending).

Services call `machine.check(...)` before changing a record; pages show only
what `machine.allowed(...)` returns. A firm's sign-up to a job fair
(PARTICIPATION) and a hiring need (HIRING_NEED) are machines of the same type; the
job-fair funnel's order is a rule (crm.rules.funnel_problem), not a lifecycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from crm.access import allows, require
from crm.auth import Actor
from crm.errors import InvalidTransition


@dataclass(frozen=True)
class Guard:
    """A condition an action needs besides its source state; `key` is the refusal message."""

    test: Callable[[object, object], bool]  # (record, context) -> bool
    key: str
    message: str


@dataclass(frozen=True)
class Action:
    name: str
    sources: frozenset[str]
    target: str | None
    capability: str
    guards: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateMachine:
    name: str
    states: tuple[str, ...]
    initial: str
    actions: Mapping[str, Action]
    guards: Mapping[str, Guard] = field(default_factory=dict)
    status_attr: str = "status"

    def __post_init__(self) -> None:
        """A machine that names a state or guard it does not have is refused at import."""
        known = set(self.states)
        problems = [] if self.initial in known else [f"initial state {self.initial!r}"]
        for action in self.actions.values():
            problems += [f"{action.name}: state {s!r}" for s in sorted(action.sources - known)]
            if action.target is not None and action.target not in known:
                problems.append(f"{action.name}: target {action.target!r}")
            problems += [f"{action.name}: guard {g!r}" for g in action.guards
                         if g not in self.guards]
        if problems:
            raise ValueError(f"state machine {self.name}: unknown " + ", ".join(problems))

    def action(self, name: str) -> Action:
        return self.actions[name]

    def from_state(self, status: str) -> list[Action]:
        return [a for a in self.actions.values() if status in a.sources]

    def check(self, record, name: str, actor: Actor, context: object = None) -> Action:
        """Refuse unless `actor` may take action `name` on `record` now; returns the action.

        Order of refusals: who may (Forbidden), then the state (InvalidTransition),
        then the guards (InvalidTransition with the guard's message).
        """
        action = self.actions[name]
        require(actor, action.capability, record)
        status = getattr(record, self.status_attr)
        if status not in action.sources:
            raise InvalidTransition(f"cannot {name} a {self.name} that is {status}",
                                    key=f"{self.name}.bad_state", action=name, status=status)
        for guard_name in action.guards:
            guard = self.guards[guard_name]
            if not guard.test(record, context):
                raise InvalidTransition(guard.message, key=guard.key, action=name)
        return action

    def allowed(self, record, actor: Actor, context: object = None) -> list[str]:
        """The actions `actor` may take on `record` now, in declaration order."""
        status = getattr(record, self.status_attr)
        return [a.name for a in self.from_state(status)
                if allows(actor, a.capability, record)
                and all(self.guards[g].test(record, context) for g in a.guards)]


# --- the appeal loop ---------------------------------------------------------------------------

OPEN_STATUSES = ("received", "dispatched", "accepted")
CLOSED_STATUSES = ("replied", "callback", "archived", "merged")
FINAL_STATUSES = ("archived", "merged")


def _bad_callback(appeal, _context) -> bool:
    return appeal.satisfaction == "unsatisfied" or appeal.callback_solved is False


def _no_pending_extension(_appeal, context) -> bool:
    return not (context or {}).get("pending_extension")


def _pending_extension(_appeal, context) -> bool:
    return bool((context or {}).get("pending_extension"))


def _a(name: str, sources: set[str], target: str | None, *guards: str) -> Action:
    return Action(name, frozenset(sources), target, f"appeal.{name}", tuple(guards))


APPEAL = StateMachine(
    name="appeal",
    states=(*OPEN_STATUSES, *CLOSED_STATUSES),
    initial="received",
    actions={a.name: a for a in (
        _a("dispatch", {"received"}, "dispatched"),                       # 派单 / 改派 after 退单
        _a("reassign", {"dispatched"}, "dispatched"),                     # 改派 before signing
        _a("accept", {"dispatched"}, "accepted"),                         # 签收
        _a("return", {"dispatched", "accepted"}, "received"),             # 退单
        _a("reply", {"accepted"}, "replied"),                             # 答复
        _a("request_extension", {"dispatched", "accepted"}, None, "no_pending_extension"),
        _a("decide_extension", {"dispatched", "accepted"}, None, "pending_extension"),
        _a("callback", {"replied"}, "callback"),                          # 回访
        _a("reopen", {"callback"}, "dispatched", "bad_callback"),         # 重办
        _a("archive", {"callback"}, "archived"),                          # 归档
        _a("merge", {"received", "dispatched", "accepted"}, "merged"),    # 并单
        _a("note", {"received", "dispatched", "accepted", "replied", "callback"}, None),
    )},
    guards={
        "bad_callback": Guard(_bad_callback, "appeal.reopen_needs_bad_callback",
                              "only an unsatisfied or unsolved callback can be reopened"),
        "no_pending_extension": Guard(_no_pending_extension, "appeal.extension_pending",
                                      "an extension request is already pending"),
        "pending_extension": Guard(_pending_extension, "appeal.no_pending_extension",
                                   "no extension request is pending"),
    },
)
ACTIONS = APPEAL.actions


# --- job fairs ---------------------------------------------------------------------------------

def _j(name: str, sources: set[str], target: str | None, capability: str) -> Action:
    return Action(name, frozenset(sources), target, capability)


# A firm signed up to a fair comes (its first funnel figures mark it attended) or withdraws
# (its positions then count for nothing); a withdrawn firm may sign up again.
PARTICIPATION = StateMachine(
    name="fair_participation",
    states=("signed_up", "attended", "withdrawn"),
    initial="signed_up",
    actions={a.name: a for a in (
        _j("attend", {"signed_up"}, "attended", "jobfair.manage"),
        _j("withdraw", {"signed_up", "attended"}, "withdrawn", "jobfair.manage"),
        _j("rejoin", {"withdrawn"}, "signed_up", "jobfair.manage"),
        _j("record", {"signed_up", "attended"}, None, "jobfair.manage"),  # funnel figures
    )},
)

# 用工需求: asked for → invited to a fair → met (hired enough) or closed (given up, or
# answered otherwise); a need met or closed too early may be opened again.
HIRING_NEED = StateMachine(
    name="hiring_need",
    states=("open", "invited", "met", "closed"),
    initial="open",
    actions={a.name: a for a in (
        _j("invite", {"open"}, "invited", "hiring.manage"),
        _j("meet", {"open", "invited"}, "met", "hiring.manage"),
        _j("close", {"open", "invited"}, "closed", "hiring.manage"),
        _j("reopen", {"met", "closed"}, "open", "hiring.manage"),
    )},
)


# --- the financing pipeline: one match of a need with a bank product ---------------------------

MATCH_STATES = ("recommended", "contacted", "applied", "approved", "rejected", "disbursed")


def _need_not_withdrawn(match, _context) -> bool:
    return match.need.withdrawn_on is None


def _f(name: str, sources: set[str], target: str) -> Action:
    return Action(name, frozenset(sources), target, "financing.manage", ("need_not_withdrawn",))


FINANCING = StateMachine(
    name="financing",
    states=MATCH_STATES,
    initial="recommended",
    actions={a.name: a for a in (
        _f("contact", {"recommended"}, "contacted"),               # 对接: the chamber links them
        _f("apply", {"recommended", "contacted"}, "applied"),      # the firm applies to the bank
        _f("approve", {"applied"}, "approved"),                    # the bank approves (amount)
        _f("reject", {"contacted", "applied"}, "rejected"),        # the bank declines (reason)
        _f("disburse", {"approved"}, "disbursed"),                 # the money arrives
    )},
    guards={
        "need_not_withdrawn": Guard(_need_not_withdrawn, "financing.need_withdrawn",
                                    "the firm has withdrawn this need"),
    },
)

# A need's status is not kept by hand: it follows from its matches (and a withdrawal), by
# the first rule that holds, top to bottom. `crm.services.financing.need_status_sql` is the
# SQL twin of `need_status`, tested against it.
NEED_STATUSES = ("withdrawn", "funded", "approved", "in_progress", "proposed", "declined", "open")
OPEN_NEED_STATUSES = ("open", "proposed", "in_progress", "declined")  # still looking for money
NEED_STATUS_RULES: tuple[tuple[str, frozenset[str]], ...] = (
    # (status, the match statuses any one of which gives it)
    ("funded", frozenset({"disbursed"})),
    ("approved", frozenset({"approved"})),
    ("in_progress", frozenset({"contacted", "applied"})),
    ("proposed", frozenset({"recommended"})),
    ("declined", frozenset({"rejected"})),
)


def need_status(withdrawn: bool, match_statuses) -> str:
    """The status of a need: withdrawn, else the first rule one of its matches meets, else open."""
    if withdrawn:
        return "withdrawn"
    present = set(match_statuses)
    for status, gives in NEED_STATUS_RULES:
        if present & gives:
            return status
    return "open"
