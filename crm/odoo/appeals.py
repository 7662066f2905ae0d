"""Appeals → an Odoo ticket, and what happened in Odoo back onto the appeal's timeline.

The model is `helpdesk.ticket` where the server has it (Helpdesk is an Odoo Enterprise
app), else the `appeal_fallback` setting: `crm.lead` or `project.task`. The record is
named `[<appeal code>] <title>`, carries the description and the firm's partner (the
firm is linked by the firm sync; an appeal whose firm is not linked yet waits, reported
as skipped). The code in the name is how a record created by a run that crashed before
recording it is found again instead of created twice.

Qifu owns the appeal's text: a changed title or description is written to Odoo; the
same fields edited in Odoo are not copied back, and edits on both sides are a conflict,
reported (the `qifu` winner setting rewrites Odoo's copy).

Back from Odoo come the stage and the replies (chatter messages of type comment): each
new one becomes an `odoo` event on the appeal's timeline ("Odoo：阶段 … → …", "Odoo 回复：…").
They are facts to read, never a state change: the appeal moves only through its own
state machine (crm.lifecycle.APPEAL) when a person acts on it in Qifu.
"""

from __future__ import annotations

import html
import re

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crm.db import now
from crm.models import Appeal, AppealEvent, OdooMapping
from crm.odoo.errors import OdooFault, OdooModelMissing
from crm.odoo.gateway import Gateway
from crm.odoo.tally import Context, digest, text
from crm.services import audit
from crm.services.reference import get_setting, set_setting

ENTITY = "appeal"
PREFERRED = "helpdesk.ticket"
READ = ["name", "description", "partner_id", "stage_id", "write_date"]
_BLOCK = re.compile(r"<(?:br|/p|/div|/li|/h\d|/tr)\b[^>]*>", re.I)  # a line ends here
_TAG = re.compile(r"<[^>]+>")
EVENT = "odoo"


def choose_model(gateway: Gateway, fallback: str) -> str:
    if gateway.has_model(PREFERRED):
        return PREFERRED
    if gateway.has_model(fallback):
        return fallback
    raise OdooModelMissing(f"Odoo has neither {PREFERRED} nor {fallback}",
                           key="odoo.error.no_appeal_model", model=PREFERRED, fallback=fallback)


def plain(value) -> str:
    """HTML (Odoo's description and messages) as one line of text."""
    if not value:
        return ""
    return text(html.unescape(_TAG.sub("", _BLOCK.sub(" ", str(value)))))


def name_of(appeal: Appeal) -> str:
    return f"[{appeal.code}] {text(appeal.title)}"


def canon_local(appeal: Appeal, partner_id: int) -> dict:
    return {"name": name_of(appeal), "description": plain(appeal.description),
            "partner_id": partner_id}


def canon_remote(row: dict) -> dict:
    partner = row.get("partner_id")
    return {"name": text(row.get("name")), "description": plain(row.get("description")),
            "partner_id": partner[0] if partner else False}


def _stage(row: dict) -> str | None:
    stage = row.get("stage_id")
    return stage[1] if stage else None


def _or_domain(leaves: list) -> list:
    return ["|"] * (len(leaves) - 1) + leaves


def sync_appeals(sessions: sessionmaker, gateway: Gateway, ctx: Context) -> None:
    model = choose_model(gateway, ctx.appeal_fallback)
    t = ctx.tally(ENTITY)
    with sessions() as s:
        partners = dict(s.execute(select(OdooMapping.local_id, OdooMapping.remote_id).where(
            OdooMapping.entity == "enterprise", OdooMapping.remote_model == "res.partner")).all())
        appeal_ids = list(s.scalars(select(Appeal.id).where(Appeal.status != "merged")
                                    .order_by(Appeal.id)))
        mapped = dict(s.execute(select(OdooMapping.local_id, OdooMapping.remote_id).where(
            OdooMapping.entity == ENTITY, OdooMapping.remote_model == model)).all())
    remote = {r["id"]: r for r in gateway.read_ids(model, list(mapped.values()), READ)}
    cursor_key = f"odoo.messages_seen.{model}"
    with sessions() as s:
        seen_up_to = int(get_setting(s, cursor_key) or 0)
    messages, newest = _new_messages(gateway, model, seen_up_to)
    total, errors_before = len(appeal_ids), t.errors
    ctx.step(f"appeals → {model}", 0, total)
    for start in range(0, total, ctx.batch_size):
        chunk = appeal_ids[start:start + ctx.batch_size]
        with sessions() as s:
            appeals = s.scalars(select(Appeal).where(Appeal.id.in_(chunk))
                                .order_by(Appeal.id)).all()
            maps = {m.local_id: m for m in s.scalars(select(OdooMapping).where(
                OdooMapping.entity == ENTITY, OdooMapping.remote_model == model,
                OdooMapping.local_id.in_(chunk)))}
            waiting = [a for a in appeals if a.id not in maps and a.enterprise_id in partners]
            found = _find_existing(gateway, model, waiting)
            if found:  # linked now: their whole chatter, not only what came after the cursor
                messages.update(_messages_of(gateway, model, [r["id"] for r in found.values()]))
            to_create = []
            for appeal in appeals:
                partner = partners.get(appeal.enterprise_id)
                if partner is None:
                    ctx.issue(ENTITY, "skipped", f"{appeal.code}: its firm is not in Odoo yet "
                              "(run the firm sync)", local_id=appeal.id)
                    continue
                local = canon_local(appeal, partner)
                mapping = maps.get(appeal.id)
                try:
                    earlier = found.get(appeal.code) or found.get(appeal.external_ref or "")
                    if mapping is None and earlier is not None:
                        row = earlier
                        mapping = OdooMapping(entity=ENTITY, local_id=appeal.id,
                                              remote_model=model, remote_id=row["id"],
                                              synced_hash=digest(canon_remote(row)),
                                              remote_seen={"stage": _stage(row),
                                                           "message": _recorded(appeal, model,
                                                                                row["id"])})
                        remote[row["id"]] = row
                        if not ctx.dry_run:
                            s.add(mapping)
                    if mapping is None:
                        to_create.append((appeal, local))
                        continue
                    _update(s, gateway, ctx, model, appeal, mapping, local,
                            remote.get(mapping.remote_id),
                            messages.get(mapping.remote_id, []))
                except OdooFault as err:
                    ctx.issue(ENTITY, "error", f"{appeal.code}: {err.message or err}",
                              local_id=appeal.id)
            if to_create:
                if not ctx.dry_run:
                    ids = gateway.create(model, [v for _, v in to_create])
                    # the stage each new record starts in, so a later move is seen as one
                    stages = {r["id"]: _stage(r) for r in gateway.search_read(
                        model, [("id", "in", ids)], ["stage_id"])}
                    for (appeal, values), rid in zip(to_create, ids, strict=True):
                        s.add(OdooMapping(entity=ENTITY, local_id=appeal.id, remote_model=model,
                                          remote_id=rid, synced_hash=digest(values),
                                          remote_seen={"stage": stages.get(rid), "message": 0}))
                t.created_odoo += len(to_create)
            if ctx.dry_run:
                s.rollback()
            else:
                s.commit()
        ctx.step(f"appeals → {model}", min(start + ctx.batch_size, total), total)
    if newest > seen_up_to and not ctx.dry_run and t.errors == errors_before:
        # (after a refused record, the same messages are read again next run; each
        # record's own `remote_seen` keeps them from reaching its timeline twice)
        with sessions.begin() as s:
            set_setting(s, cursor_key, newest)


def _recorded(appeal: Appeal, model: str, remote_id: int) -> int:
    """The newest Odoo message of this record already on the appeal's timeline (a link
    lost and found again must not repeat the replies)."""
    return max((int(e.data.get("message") or 0) for e in appeal.events
                if e.action == EVENT and e.data and e.data.get("model") == model
                and e.data.get("id") == remote_id), default=0)


def _find_existing(gateway: Gateway, model: str, appeals: list[Appeal]) -> dict[str, dict]:
    """Records already named after these appeals' codes (made by a run that crashed); an
    imported appeal's record may still carry the ledger number it was named by before
    migration 0010 gave it a QF number."""
    if not appeals:
        return {}
    leaves = [("name", "=like", f"[{code}]%") for a in appeals
              for code in (a.code, a.external_ref) if code]
    found = {}
    for row in gateway.search_read(model, _or_domain(leaves), READ):
        code = text(row.get("name"))[1:].split("]", 1)[0]
        found.setdefault(code, row)
    return found


_MESSAGE_FIELDS = ["res_id", "body", "author_id", "date"]


def _new_messages(gateway: Gateway, model: str, after: int) -> tuple[dict[int, list[dict]], int]:
    """Comments on `model` records posted since the last run read up to message `after`
    (a cursor kept in the settings table), by record, and the newest id seen. Each run
    reads only what is new, not every ticket's whole history again."""
    out: dict[int, list[dict]] = {}
    newest = after
    for m in gateway.search_read("mail.message", [
            ("model", "=", model), ("message_type", "=", "comment"), ("id", ">", after)],
            _MESSAGE_FIELDS):
        out.setdefault(m["res_id"], []).append(m)
        newest = max(newest, m["id"])
    return out, newest


def _messages_of(gateway: Gateway, model: str, ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for start in range(0, len(ids), 1000):
        for m in gateway.search_read("mail.message", [
                ("model", "=", model), ("res_id", "in", ids[start:start + 1000]),
                ("message_type", "=", "comment")], _MESSAGE_FIELDS):
            out.setdefault(m["res_id"], []).append(m)
    return out


def _update(s, gateway: Gateway, ctx: Context, model: str, appeal: Appeal,
            mapping: OdooMapping, local: dict, row: dict | None, messages: list[dict]) -> None:
    t = ctx.tally(ENTITY)
    if row is None:
        ctx.issue(ENTITY, "error", f"{appeal.code}: {model} {mapping.remote_id} is gone in Odoo",
                  local_id=appeal.id, remote_id=mapping.remote_id)
        return
    theirs = canon_remote(row)
    wrote = False
    if theirs != local:
        mine_changed = digest(local) != mapping.synced_hash
        theirs_changed = digest(theirs) != mapping.synced_hash
        if mine_changed and theirs_changed:
            t.conflicts += 1
            ctx.issue(ENTITY, "conflict", f"{appeal.code}: edited in Qifu and in Odoo; "
                      + ("Qifu's text written to Odoo" if ctx.winner == "qifu"
                         else "Odoo's copy left as it is"),
                      local_id=appeal.id, remote_id=mapping.remote_id)
        if mine_changed and (not theirs_changed or ctx.winner == "qifu"):
            if not ctx.dry_run:
                gateway.write(model, [mapping.remote_id], local)
                mapping.synced_hash = digest(local)
            t.updated_odoo += 1
            wrote = True
    elif mapping.synced_hash != digest(local) and not ctx.dry_run:
        mapping.synced_hash = digest(local)
    seen = dict(mapping.remote_seen or {})
    events = []
    stage = _stage(row)
    if stage != seen.get("stage"):
        events.append((f"Odoo：阶段 {seen.get('stage') or '—'} → {stage or '—'}",
                       {"stage": stage}))
        seen["stage"] = stage
    last = int(seen.get("message") or 0)
    for m in sorted(messages, key=lambda m: m["id"]):
        if m["id"] > last:
            author = m["author_id"][1] if m.get("author_id") else None
            events.append((f"Odoo 回复：{plain(m['body'])}" + (f"（{author}）" if author else ""),
                           {"message": m["id"], "author": author}))
            seen["message"] = m["id"]
    if not events:
        if not wrote:
            t.unchanged += 1
        return
    t.updated_qifu += 1
    if ctx.dry_run:
        return
    for note, data in events:
        s.add(AppealEvent(appeal_id=appeal.id, action=EVENT, from_status=appeal.status,
                          to_status=appeal.status, actor_id=ctx.actor.id, note=note,
                          data={"model": model, "id": mapping.remote_id, **data}, at=now()))
    mapping.remote_seen = seen
    mapping.remote_write_date = row.get("write_date") or None
    audit.record(s, ctx.actor, "appeal.odoo_pull", ENTITY, appeal.id, events=len(events))

