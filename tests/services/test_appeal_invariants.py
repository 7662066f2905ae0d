"""Random sequences of actions by random people never break the appeal invariants.

Invariants after every step: each appeal is in exactly one known state; its
timeline is a chain (each event starts where the previous one ended) ending
in the current state; the due date is never before the received date; an
archived or merged appeal never changes again; refused actions change nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from crm import migrate
from crm.access import SYSTEM
from crm.db import make_engine, session_factory
from crm.errors import CrmError
from crm.lifecycle import FINAL_STATUSES
from crm.models import Appeal, AppealEvent, Category, Enterprise, Street, Unit
from crm.models.appeal import STATUSES
from crm.services import appeals as svc
from crm.services import kpi, kpi_facts
from crm.services.reference import init_reference_data
from crm.services.users import actor_of, add_user
from crm.uscc import complete

_TEMPLATE: Path | None = None


def _template() -> Path:
    """One migrated SQLite file with people and firms, copied for every example."""
    global _TEMPLATE
    if _TEMPLATE is None:
        path = Path(tempfile.mkdtemp()) / "tmpl.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        with session_factory(engine).begin() as s:
            init_reference_data(s)
            street = s.scalar(select(Street.id).where(Street.name == "江北城街道"))
            for n in range(2):
                s.add(Enterprise(uscc=complete(f"91500105MA{n:06d}"), name=f"企业{n}",
                                 street_id=street))
            add_user(s, "li", role="liaison", street="江北城街道", actor=SYSTEM)
            add_user(s, "jj", role="handler", unit="区交巡警支队", actor=SYSTEM)
            add_user(s, "rs", role="handler", unit="区人力社保局", actor=SYSTEM)
            add_user(s, "root", role="admin", actor=SYSTEM)
            add_user(s, "boss", role="official", actor=SYSTEM)
        engine.dispose()
        _TEMPLATE = path
    return _TEMPLATE


UNITS = ["区交巡警支队", "区人力社保局"]
WHO = ["li", "jj", "rs", "root", "boss"]


class AppealMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.dir = tempfile.mkdtemp()
        path = Path(self.dir) / "db.db"
        shutil.copy(_template(), path)
        self.engine = make_engine(f"sqlite:///{path}")
        self.session = session_factory(self.engine)()
        s = self.session
        from crm.models import User
        self.actors = {u.username: actor_of(u) for u in s.scalars(select(User))}
        self.firms = s.scalars(select(Enterprise.id)).all()
        self.category = s.scalar(select(Category.id).where(Category.name == "交通"))
        self.units = {u.name: u.id for u in s.scalars(select(Unit).where(Unit.name.in_(UNITS)))}
        self.ids: list[int] = []
        self.final: dict[int, int] = {}  # appeal id -> event count when it became final

    def teardown(self):
        self.session.close()
        self.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _do(self, fn, *args, **kw):
        before = self._snapshot()
        try:
            fn(self.session, *args, **kw)
            self.session.commit()
        except CrmError:
            self.session.rollback()
            assert self._snapshot() == before, "a refused action changed something"

    def _snapshot(self):
        return self.session.execute(select(Appeal.id, Appeal.status, Appeal.version)
                                    .order_by(Appeal.id)).all()

    def _pick(self, data):
        return data.draw(st.sampled_from(self.ids)) if self.ids else None

    @rule(firm=st.integers(0, 1), who=st.sampled_from(["li", "root"]))
    def log(self, firm, who):
        a = svc.log_appeal(self.session, actor=self.actors[who],
                           enterprise_id=self.firms[firm], category_id=self.category, title="t")
        self.session.commit()
        self.ids.append(a.id)

    @rule(data=st.data(), who=st.sampled_from(WHO), lead=st.sampled_from(UNITS),
          co=st.booleans(), action=st.sampled_from(["dispatch", "reassign"]))
    def dispatch(self, data, who, lead, co, action):
        if (i := self._pick(data)) is None:
            return
        others = [self.units[u] for u in UNITS if u != lead] if co else []
        self._do(getattr(svc, action), i, actor=self.actors[who],
                 lead_unit_id=self.units[lead], co_unit_ids=others)

    @rule(data=st.data(), who=st.sampled_from(WHO))
    def accept(self, data, who):
        if (i := self._pick(data)) is not None:
            self._do(svc.accept, i, actor=self.actors[who])

    @rule(data=st.data(), who=st.sampled_from(WHO))
    def give_back(self, data, who):
        if (i := self._pick(data)) is not None:
            self._do(svc.return_appeal, i, actor=self.actors[who], reason="错派")

    @rule(data=st.data(), who=st.sampled_from(WHO), solved=st.booleans())
    def reply(self, data, who, solved):
        if (i := self._pick(data)) is not None:
            self._do(svc.reply, i, actor=self.actors[who], reply_text="r", solved=solved)

    @rule(data=st.data(), who=st.sampled_from(WHO), days=st.integers(1, 10),
          approve=st.booleans())
    def extension(self, data, who, days, approve):
        if (i := self._pick(data)) is None:
            return
        self._do(svc.request_extension, i, actor=self.actors[who], days=days, reason="x")
        self._do(svc.decide_extension, i, actor=self.actors["li"], approve=approve)

    @rule(data=st.data(), who=st.sampled_from(WHO),
          sat=st.sampled_from(["satisfied", "basic", "unsatisfied"]), solved=st.booleans())
    def callback(self, data, who, sat, solved):
        if (i := self._pick(data)) is not None:
            self._do(svc.callback, i, actor=self.actors[who], satisfaction=sat, solved=solved)

    @rule(data=st.data(), who=st.sampled_from(WHO),
          action=st.sampled_from(["reopen", "archive"]))
    def close_or_reopen(self, data, who, action):
        if (i := self._pick(data)) is not None:
            self._do(getattr(svc, action), i, actor=self.actors[who])

    @rule(data=st.data(), who=st.sampled_from(WHO))
    def merge(self, data, who):
        if len(self.ids) < 2:
            return
        a, b = data.draw(st.sampled_from(self.ids)), data.draw(st.sampled_from(self.ids))
        self._do(svc.merge, a, actor=self.actors[who], into_id=b)

    @rule(data=st.data(), who=st.sampled_from(WHO))
    def note(self, data, who):
        if (i := self._pick(data)) is not None:
            self._do(svc.add_note, i, actor=self.actors[who], note="n")

    @invariant()
    def appeals_are_consistent(self):
        if not hasattr(self, "session"):
            return
        self.session.expire_all()
        for a in self.session.scalars(select(Appeal)):
            assert a.status in STATUSES
            assert a.due_date >= a.received_at.date()
            events = self.session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == a.id)
                                          .order_by(AppealEvent.id)).all()
            assert events[0].action == "receive" and events[0].from_status is None
            for prev, cur in zip(events, events[1:], strict=False):
                assert cur.from_status == prev.to_status, (prev.action, cur.action)
            assert events[-1].to_status == a.status
            if a.status in FINAL_STATUSES:
                self.final.setdefault(a.id, len(events))
                # archived/merged: nothing happens to it afterwards except being absorbed into
                assert len([e for e in events[self.final[a.id]:] if e.action != "absorb"]) == 0
            assert (a.status == "merged") == (a.merged_into_id is not None)
            if a.status in ("replied", "callback", "archived"):
                assert a.replied_at is not None and a.solved is not None
            if a.status in ("dispatched", "accepted"):
                assert a.lead_unit_id is not None


    @invariant()
    def kpi_rollups_match_the_appeals(self):
        if not hasattr(self, "session"):
            return
        assert kpi_facts.differences(self.session) == []
        # (every dimension from both sources is compared in test_kpi_facts)
        assert (kpi.compute(self.session, source="rollups")
                == kpi.compute(self.session, source="appeals"))
        self.session.rollback()


AppealMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30,
                                           deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
test_random_action_sequences_never_break_the_appeal_invariants = AppealMachine.TestCase
