"""Appeals with their full timelines, in bulk (a million in a couple of minutes).

Each appeal is simulated through the same state machine the service enforces
(crm.lifecycle, crm.services.appeals): receive → dispatch → accept → reply →
callback → archive, with the side paths (退单 return and 改派, 延期 extension,
重办 reopen after a bad callback, 并单 merge). Every step is an event at a
later time; the simulation stops at the as-of moment or where the appeal is
stuck, so the row's status and facts always match its last event. Old
appeals end up archived, recent ones are still on their way, and a few old
ones are stuck (the overdue list an official asks about).

The rates are tuned to what the KPI pages should show: ~90% signed within a
day (响应率), ~90% replied by the due date (按期办结率), callbacks 80% 满意 /
12% 基本满意 / 8% 不满意.

Appeals are generated day by day in received order (so ids and codes follow
time, like a real ledger) and written per chunk, keeping memory bounded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from typing import NamedTuple

from crm import rules
from crm.demo import appeal_text as text
from crm.demo import stories
from crm.demo.clock import EPOCH
from crm.demo.context import APPEAL_YEARS_BACK, AS_OF, Demo
from crm.demo.sampling import Dice, apportion, cumulative
from crm.models import Appeal, AppealEvent, AppealUnit, Extension

CHUNK = 50_000
APPEAL_COLS = ("id", "code", "enterprise_id", "street_id", "category_id", "channel", "priority",
               "title", "description", "contact_name", "contact_phone", "status", "received_at",
               "due_date", "extension_days", "lead_unit_id", "dispatched_at", "accepted_at",
               "replied_at", "reply_text", "solved", "callback_at", "satisfaction",
               "callback_solved", "archived_at", "reopen_count", "merged_into_id", "visit_id",
               "created_by_id", "version", "created_at", "updated_at")
EVENT_COLS = ("id", "appeal_id", "action", "from_status", "to_status", "actor_id", "unit_id",
              "note", "data", "at")
UNIT_COLS = ("id", "appeal_id", "unit_id", "role", "active", "assigned_at")
EXTENSION_COLS = ("id", "appeal_id", "unit_id", "days", "reason", "status", "requested_by_id",
                  "requested_at", "decided_by_id", "decided_at")

CHANNELS = (("phone", 25), ("hotline", 30), ("meeting", 8), ("import", 12), ("online", 10))
STALL_RATE = 0.004  # old appeals stuck at some stage (overdue or never called back)
STALL_AT = (("received", 2), ("dispatched", 2), ("accepted", 4), ("replied", 2), ("callback", 2))
MERGE_RATE = 0.008
RETURN_RATE = 0.025
SIGN_IN_TIME = 0.9
ON_TIME = 0.9
HOUR, DAY = 3600, 86400
OPENS, CLOSES = 8 * HOUR + 1800, 18 * HOUR
SATISFACTION = ("satisfied", "basic", "unsatisfied")
# First-round odds are a little worse than the targets because a third of the bad
# callbacks are reopened and mostly end better (cumulative, for Dice.weighted).
SAT_IF_SOLVED = cumulative((0.80, 0.12, 0.08))
SAT_IF_NOT = cumulative((0.2, 0.3, 0.5))
SAT_SECOND_ROUND = cumulative((0.6, 0.25, 0.15))
REOPEN_RATE = 0.35


class _Category(NamedTuple):
    id: int
    name: str  # the key into appeal_text ("其他" for categories it does not know)
    limit: int  # days
    leads: list[int | None]  # lead units; None = the street's own 经发办
    lead_cum: list[float]
    co_units: list[int]
    weight: float


class _A:
    """One appeal while it is simulated; becomes a row (and child rows) at flush."""

    __slots__ = ("id", "code", "firm", "street", "cat", "channel", "priority", "title", "desc",
                 "status", "t0", "due", "ext_days", "lead", "dispatched", "accepted", "replied",
                 "reply", "solved", "callback", "sat", "cb_solved", "archived", "reopens",
                 "merged_into", "visit", "liaison", "events", "units", "exts", "stall")

    def __init__(self, aid: int, t0: int) -> None:
        self.id, self.t0 = aid, t0
        self.status = None
        self.ext_days = self.reopens = 0
        self.lead = self.dispatched = self.accepted = self.replied = self.reply = None
        self.solved = self.callback = self.sat = self.cb_solved = self.archived = None
        self.merged_into = self.visit = self.stall = None
        self.events: list[tuple] = []
        self.units: list[list] = []  # [unit id, role, active, t]
        self.exts: list[tuple] = []

    def ev(self, t: int, action: str, to: str | None, actor, unit, note=None, data=None):
        before = self.status
        if to is not None:
            self.status = to
        self.events.append((t, action, before, self.status, actor, unit, note, data))

    def status_at(self, t: int) -> str:
        i = bisect_right(self.events, t, key=lambda e: e[0])
        return self.events[max(i - 1, 0)][3]

    def final_at(self) -> float:
        last = self.events[-1]
        return last[0] if last[3] in ("archived", "merged") else float("inf")


class AppealMaker:
    def __init__(self, demo: Demo, total: int) -> None:
        self.demo, self.rng, self.clock, self.w = demo, demo.rng, demo.clock, demo.writer
        self.dice = Dice(demo.rng)
        self.total = total
        self.end = demo.as_of_t
        ref, firms = demo.ref, demo.firms
        self.cats = []
        for cid, name, limit in ref.categories:
            weight, leads, cos = text.ROUTING.get(name, text.ROUTING["其他"])
            self.cats.append(_Category(cid, name if name in text.ASKS else "其他", limit,
                                       [ref.units.get(u) if u else None for u, _ in leads],
                                       cumulative([w for _, w in leads]),
                                       [ref.units[u] for u in cos if u in ref.units], weight))
        self.cat_cum = cumulative([c.weight for c in self.cats])
        self.all_units = sorted(set(ref.units.values()))
        size_w = {"large": 6.0, "medium": 3.0, "small": 1.5, "micro": 1.0}
        self.firm_cum = cumulative([size_w[s] * (2 if a else 1) * (0.5 if sh else 1)
                                    for s, a, sh in zip(firms.size, firms.above, firms.shop,
                                                        strict=True)])
        self.street_ids = [s.id for s in ref.streets]
        self.offices = [s.office_id for s in ref.streets]
        self.chan_names = [c for c, _ in CHANNELS]
        self.chan_cum = cumulative([w for _, w in CHANNELS])
        self.handler = demo.handler_of_unit
        self.liaison = demo.liaison_of_street
        self.next_id = self.w.take_ids(Appeal.__table__, 0)
        self.asks: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.buffer: list[_A] = []
        self.recent: deque[_A] = deque(maxlen=400)
        self.done = 0
        self.forced: dict[int, str] = {}

    # --- the calendar ---------------------------------------------------------------------

    def run(self) -> int:
        first_day = self.clock.day(AS_OF.replace(year=AS_OF.year - APPEAL_YEARS_BACK))
        last_day = self.clock.day(AS_OF)
        days = list(range(first_day, last_day + 1))
        story_day = self.clock.day(stories.PARKING_APPEAL["received"].date())
        if self.total < 1:
            story_day = None
        n_random = max(self.total - 1, 0)
        counts = apportion(n_random, [self._day_weight(d, first_day, len(days)) for d in days])
        # Guarantee every status even in a small demo: a few old appeals are stuck on
        # purpose at each open stage, and one is merged.
        step = max(n_random // 12, 1)
        for k, status in enumerate(("received", "dispatched", "accepted", "replied",
                                    "callback", "merged"), start=1):
            self.forced[k * step] = status
        made = 0
        self.demo.progress("诉求", 0, self.total)
        for day, count in zip(days, counts, strict=True):
            if day == story_day:
                self._story()
            made = self._day(day, count, made)
            if len(self.buffer) >= CHUNK:
                self._flush()
        self._flush()
        return self.done

    @staticmethod
    def _day_weight(day: int, first: int, n: int) -> float:
        weekday = (EPOCH.weekday() + day) % 7
        base = 1.0 if weekday < 5 else 0.25 if weekday == 5 else 0.15
        return base * (0.75 + 0.5 * (day - first) / n)  # use grows over the two years

    def _day(self, day: int, count: int, made: int) -> int:
        rng, dice, rnd = self.rng, self.dice, self.rng.random
        times = sorted(rng.randrange(8 * HOUR + 1800, 18 * HOUR) for _ in range(count))
        visits = self.demo.visits_for_appeals.get(day, [])
        firms = rng.choices(range(len(self.firm_cum)), cum_weights=self.firm_cum, k=count)
        for i, tod in enumerate(times):
            a = _A(self.next_id, day * DAY + tod)
            self.next_id += 1
            forced = self.forced.get(made)
            made += 1
            if forced == "merged" or (forced is None and rnd() < MERGE_RATE):
                if self._merge(a):
                    continue
                if forced:
                    self.forced[made] = forced  # try the next one
            elif forced:
                a.stall = forced
            elif rnd() < STALL_RATE:
                a.stall = rng.choices([s for s, _ in STALL_AT], [w for _, w in STALL_AT])[0]
            if i < len(visits):
                a.visit, firm = visits[i]
                a.channel = "visit"
            else:
                firm = firms[i]
                if self.demo.firms.registered[firm] > day:  # not founded yet: pick another
                    firm = rng.choices(range(len(self.firm_cum)), cum_weights=self.firm_cum)[0]
                a.channel = dice.weighted(self.chan_names, self.chan_cum)
            self._start(a, firm, dice.weighted(self.cats, self.cat_cum))
            self._life(a)
        return made

    # --- one appeal -----------------------------------------------------------------------

    def _start(self, a: _A, firm: int, cat: tuple) -> None:
        dice, rnd, firms = self.dice, self.rng.random, self.demo.firms
        a.firm, a.cat = firm, cat
        a.street = firms.street[firm]
        a.liaison = self.liaison.get(a.street)
        a.code = f"{rules.APPEAL_CODE_PREFIX}{self.clock.days[a.t0 // DAY][:4]}{a.id:07d}"
        a.priority = "urgent" if rnd() < 0.08 else "normal"
        key = (cat.name, firms.industry[firm])
        asks = self.asks.get(key) or self.asks.setdefault(key, text.asks_for(*key))
        a.title, a.desc = dice.pick(asks)
        a.due = a.t0 // DAY + cat.limit
        self.buffer.append(a)
        self.recent.append(a)

    def _merge(self, a: _A) -> bool:
        """并单: a duplicate of a recent, still open appeal of the same firm."""
        dice = self.dice
        for _ in range(5):
            if not self.recent:
                return False
            target = dice.pick(self.recent)
            at = min(self._office(a.t0 + dice.int(1800, 20 * HOUR)), self.end)
            if target.merged_into is None and target.status != "merged" \
                    and target.final_at() > at and target.t0 <= a.t0:
                break
        else:
            return False
        a.channel = dice.weighted(self.chan_names, self.chan_cum)
        self._start(a, target.firm, target.cat)
        a.title, a.desc = target.title, target.desc
        a.merged_into = target.id
        a.ev(a.t0, "receive", "received", a.liaison, None)
        a.ev(at, "merge", "merged", a.liaison, None, None, f'{{"into": "{target.code}"}}')
        state = target.status_at(at)
        absorb = (at, "absorb", state, state, a.liaison, None, None,
                  f'{{"merged": "{a.code}"}}')
        target.events.insert(bisect_right(target.events, at, key=lambda e: e[0]), absorb)
        return True

    def _route(self, a: _A) -> tuple[int, list[int]]:
        rng, dice = self.rng, self.dice
        cat = a.cat
        lead = dice.weighted(cat.leads, cat.lead_cum) or self.offices[a.street]
        cos = cat.co_units
        co: list[int] = []
        r = rng.random()
        if cos and r < 0.19:
            pool = [u for u in cos if u != lead]
            co = rng.sample(pool, min(len(pool), 2 if r < 0.04 else 1))
        return lead, co

    def _dispatch(self, a: _A, t: int, lead: int, co: list[int]) -> None:
        a.ev(t, "dispatch", "dispatched", a.liaison, lead, None,
             f'{{"lead_unit_id": {lead}, "co_unit_ids": [{", ".join(map(str, sorted(co)))}]}}')
        a.lead, a.dispatched, a.accepted = lead, t, None
        existing = {u[0]: u for u in a.units}
        for unit, role in [(lead, "lead"), *((u, "co") for u in co)]:
            if unit in existing:  # a unit that returned it earlier is handling it again
                existing[unit][1:3] = [role, 1]
            else:
                a.units.append([unit, role, 1, t])

    def _office(self, t: int) -> int:
        """Move a moment outside office hours (08:30–18:00) to the next morning's opening."""
        tod = t % DAY
        if OPENS <= tod <= CLOSES:
            return t
        return t - tod + (DAY if tod > CLOSES else 0) + OPENS + int(self.rng.random() * 2 * HOUR)

    def _life(self, a: _A) -> None:  # noqa: C901 - one straight story, read top to bottom
        dice, rnd, end, liaison = self.dice, self.rng.random, self.end, a.liaison
        office = self._office
        a.ev(a.t0, "receive", "received", liaison, None)
        if a.stall == "received":
            return
        t = office(a.t0 + dice.int(600, 5 * HOUR))
        lead, co = self._route(a)
        if rnd() < RETURN_RATE:  # dispatched to the wrong unit, returned, re-dispatched
            wrong = dice.pick([u for u in self.all_units if u != lead])
            if t > end:
                return
            self._dispatch(a, t, wrong, [])
            t = office(t + dice.int(2 * HOUR, 30 * HOUR))
            if t > end:
                return
            a.ev(t, "return", "received", self.handler.get(wrong), wrong,
                 dice.pick(text.RETURN_REASONS))
            a.lead = a.accepted = None
            for u in a.units:
                u[2] = 0
            t = office(t + dice.int(1800, 4 * HOUR))
        if t > end:
            return
        self._dispatch(a, t, lead, co)
        limit = a.cat.limit
        clerk = self.handler.get(lead)
        while True:
            if a.stall == "dispatched":
                return
            t = office(t + (dice.int(300, 6 * HOUR) if rnd() < SIGN_IN_TIME
                             else dice.int(25 * HOUR, 80 * HOUR)))
            if t > end:
                return
            a.ev(t, "accept", "accepted", clerk, lead)
            a.accepted = t
            if rnd() < 0.08:
                t = office(t + dice.int(1800, 20 * HOUR))
                if t > end:
                    return
                a.ev(t, "note", None, clerk, lead, dice.pick(text.PROGRESS_NOTES))
            if rnd() < 0.05:
                t = office(t + dice.int(HOUR, max(2 * HOUR, limit * DAY // 2)))
                if t > end:
                    return
                days = dice.pick((3, 5, 7, 10))
                reason = dice.pick(text.EXTENSION_REASONS)
                a.ev(t, "request_extension", None, clerk, lead, reason, f'{{"days": {days}}}')
                asked = t
                t = office(t + dice.int(1800, 20 * HOUR))
                if t > end:
                    a.exts.append((lead, days, reason, "pending", clerk, asked, None, None))
                    return
                old, new = self.clock.days[a.due], self.clock.days[a.due + days]
                a.ev(t, "approve_extension", None, liaison, None, None,
                     f'{{"days": {days}, "approved": true, "old_due": "{old}", '
                     f'"new_due": "{new}"}}')
                a.exts.append((lead, days, reason, "approved", clerk, asked, liaison, t))
                a.due += days
                a.ext_days += days
            if a.stall == "accepted":
                return
            due_end = a.due * DAY + 18 * HOUR
            if rnd() < ON_TIME and t < due_end - 1800:
                t = office(t + 1800 + int((due_end - t - 1800) * rnd() ** 2))
            else:
                t = office(max(t, due_end) + dice.int(HOUR, 10 * DAY))
            if t > end:
                return
            solved = rnd() < 0.94
            reply = dice.pick(text.REPLIES[a.cat.name])
            a.ev(t, "reply", "replied", clerk, lead, reply,
                 '{"solved": true}' if solved else '{"solved": false}')
            a.replied, a.reply, a.solved = t, reply, solved
            if a.stall == "replied":
                return
            t = office(t + dice.int(2 * HOUR, 3 * DAY))
            if t > end:
                return
            odds = SAT_SECOND_ROUND if a.reopens else SAT_IF_SOLVED if solved else SAT_IF_NOT
            sat = dice.weighted(SATISFACTION, odds)
            cb_solved = solved and (sat != "unsatisfied" or rnd() < 0.3)
            note = dice.pick(text.CALLBACK_NOTES[sat]) if rnd() < 0.3 else None
            a.ev(t, "callback", "callback", liaison, None, note,
                 f'{{"satisfaction": "{sat}", "solved": {"true" if cb_solved else "false"}}}')
            a.callback, a.sat, a.cb_solved = t, sat, cb_solved
            if a.stall == "callback":
                return
            if not a.reopens and (sat == "unsatisfied" or not cb_solved) and rnd() < REOPEN_RATE:
                t = office(t + dice.int(HOUR, DAY))
                if t > end:
                    return
                a.reopens = 1
                a.ev(t, "reopen", "dispatched", liaison, lead, None, '{"reopen_count": 1}')
                a.dispatched = t
                a.accepted = a.replied = a.reply = a.solved = None
                a.callback = a.sat = a.cb_solved = None
                a.due = max(t // DAY + limit, a.t0 // DAY)
                continue
            t = office(t + dice.int(HOUR, 3 * DAY))
            if t > end:
                return
            a.ev(t, "archive", "archived", liaison, None)
            a.archived = t
            return

    def _story(self) -> None:
        """The securities firm's parking appeal, exactly as the newspaper tells it."""
        s, ref = stories.PARKING_APPEAL, self.demo.ref
        day = self.clock.day(s["received"].date())
        t0 = day * DAY + s["received"].hour * HOUR + s["received"].minute * 60
        a = _A(self.next_id, t0)
        self.next_id += 1
        cat = next(c for c in self.cats if c.name == s["category"])
        self._start(a, self.demo.firms.story[s["firm"]], cat)
        self.recent.pop()  # the story stays exactly as told: never a merge target
        a.channel, a.priority = s["channel"], "urgent"
        a.title, a.desc = s["title"], s["description"]
        lead, co = ref.units[s["unit"]], ref.units[s["co_unit"]]
        clerk = self.handler.get(lead)
        a.ev(t0, "receive", "received", a.liaison, None)
        self._dispatch(a, t0 + 35 * 60, lead, [co])
        a.accepted = t0 + 60 * 60
        a.ev(a.accepted, "accept", "accepted", clerk, lead)
        a.ev(t0 + DAY, "note", None, clerk, lead, "会同江北城街道现场办公，与企业面对面交流")
        a.replied, a.reply, a.solved = t0 + 2 * DAY + 7 * HOUR, s["reply"], True
        a.ev(a.replied, "reply", "replied", clerk, lead, a.reply, '{"solved": true}')
        a.callback, a.sat, a.cb_solved = t0 + 3 * DAY, "satisfied", True
        a.ev(a.callback, "callback", "callback", a.liaison, None, s["callback_note"],
             '{"satisfaction": "satisfied", "solved": true}')
        a.archived = t0 + 3 * DAY + 5 * HOUR
        a.ev(a.archived, "archive", "archived", a.liaison, None)

    # --- writing --------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self.buffer:
            return
        w, days, tods, firms = self.w, self.clock.days, self.clock.tods, self.demo.firms
        firm_ids, streets = firms.ids, self.street_ids

        def ts(t):
            return None if t is None else days[t // DAY] + tods[t % DAY]

        appeals, events, units, exts = [], [], [], []
        event_id = w.take_ids(AppealEvent.__table__, sum(len(a.events) for a in self.buffer))
        unit_id = w.take_ids(AppealUnit.__table__, sum(len(a.units) for a in self.buffer))
        ext_id = w.take_ids(Extension.__table__, sum(len(a.exts) for a in self.buffer))
        for a in self.buffer:
            aid = a.id
            contact, tel = firms.contact[a.firm]
            appeals.append((
                aid, a.code, firm_ids[a.firm], streets[a.street], a.cat.id, a.channel,
                a.priority, a.title, a.desc, contact, tel, a.status, ts(a.t0), days[a.due],
                a.ext_days, a.lead, ts(a.dispatched), ts(a.accepted), ts(a.replied), a.reply,
                None if a.solved is None else int(a.solved), ts(a.callback), a.sat,
                None if a.cb_solved is None else int(a.cb_solved), ts(a.archived), a.reopens,
                a.merged_into, a.visit, a.liaison, len(a.events), ts(a.t0),
                ts(a.events[-1][0])))
            for t, action, before, after, actor, unit, note, data in a.events:
                events.append((event_id, aid, action, before, after, actor, unit, note, data,
                               days[t // DAY] + tods[t % DAY]))
                event_id += 1
            for unit, role, active, t in a.units:
                units.append((unit_id, aid, unit, role, active, ts(t)))
                unit_id += 1
            for unit, n, reason, status, by, asked, decider, decided in a.exts:
                exts.append((ext_id, aid, unit, n, reason, status, by, ts(asked), decider,
                             ts(decided)))
                ext_id += 1
        w.write(Appeal.__table__, APPEAL_COLS, appeals)
        w.write(AppealEvent.__table__, EVENT_COLS, events)
        w.write(AppealUnit.__table__, UNIT_COLS, units)
        w.write(Extension.__table__, EXTENSION_COLS, exts)
        self.done += len(self.buffer)
        self.buffer.clear()
        self.recent.clear()
        self.demo.progress("诉求", self.done, self.total)


def add_appeals(demo: Demo, total: int) -> int:
    return AppealMaker(demo, total).run()
