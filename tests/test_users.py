"""Logins: argon2 hashes, roles with scopes, throttled failures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crm import auth
from crm.access import SYSTEM
from crm.errors import AuthError, NotFound, ValidationError
from crm.models import AuditLog, User
from crm.services import users

T0 = dt.datetime(2026, 11, 1, 9, 0, 0)


def test_passwords_are_stored_as_argon2id_hashes_never_in_clear(session):
    users.add_user(session, "wang", role="admin", password="secret123", actor=SYSTEM)
    stored = session.scalar(select(User.password_hash).where(User.username == "wang"))
    assert stored.startswith("$argon2id$")
    assert "secret123" not in stored


def test_the_right_password_logs_in_and_returns_the_actor_with_its_scope(session):
    users.add_user(session, "li", role="liaison", street="江北城",
                   password="secret123", actor=SYSTEM)
    actor = users.authenticate(session, "li", "secret123", now=T0)
    assert (actor.username, actor.role) == ("li", "liaison")
    assert actor.street_id is not None


def test_usernames_are_case_insensitive_at_login(session):
    users.add_user(session, "Zhang", role="official", password="secret123", actor=SYSTEM)
    assert users.authenticate(session, "zhang", "secret123", now=T0).username == "Zhang"


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(session):
    users.add_user(session, "li", role="official", password="secret123", actor=SYSTEM)
    with pytest.raises(AuthError) as wrong:
        users.authenticate(session, "li", "nope", now=T0)
    with pytest.raises(AuthError) as unknown:
        users.authenticate(session, "nobody", "nope", now=T0)
    assert wrong.value.key == unknown.value.key == "login.failed"


def test_repeated_failures_lock_the_account_for_a_growing_time(session):
    users.add_user(session, "li", role="official", password="secret123", actor=SYSTEM)
    for _ in range(auth.FREE_ATTEMPTS):
        with pytest.raises(AuthError):
            users.authenticate(session, "li", "bad", now=T0)
    user = users.get_user(session, "li")
    assert user.locked_until == T0 + dt.timedelta(seconds=auth.BASE_LOCK_SECONDS)
    with pytest.raises(AuthError) as locked:
        users.authenticate(session, "li", "secret123", now=T0 + dt.timedelta(seconds=1))
    assert locked.value.key == "login.locked"
    later = T0 + dt.timedelta(seconds=auth.BASE_LOCK_SECONDS + 1)
    with pytest.raises(AuthError):
        users.authenticate(session, "li", "bad", now=later)
    assert users.get_user(session, "li").locked_until == later + dt.timedelta(
        seconds=2 * auth.BASE_LOCK_SECONDS)


def test_a_successful_login_resets_the_failure_count(session):
    users.add_user(session, "li", role="official", password="secret123", actor=SYSTEM)
    with pytest.raises(AuthError):
        users.authenticate(session, "li", "bad", now=T0)
    users.authenticate(session, "li", "secret123", now=T0)
    assert users.get_user(session, "li").failed_logins == 0


def test_lock_time_is_capped():
    assert auth.lock_seconds(100) == auth.MAX_LOCK_SECONDS
    assert auth.lock_seconds(auth.FREE_ATTEMPTS - 1) == 0


def test_a_user_without_password_cannot_log_in(session):
    users.add_user(session, "new", role="official", actor=SYSTEM)
    with pytest.raises(AuthError):
        users.authenticate(session, "new", "", now=T0)


@pytest.mark.parametrize(("role", "missing"), [("liaison", "street"), ("handler", "unit"),
                                               ("chamber", "chamber"), ("cadre", "street")])
def test_a_scoped_role_needs_its_scope(session, role, missing):
    with pytest.raises(ValidationError) as err:
        users.add_user(session, "x", role=role, actor=SYSTEM)
    assert err.value.params["scope"] == missing


def test_an_unknown_role_or_street_or_unit_is_refused(session):
    with pytest.raises(ValidationError):
        users.add_user(session, "x", role="emperor", actor=SYSTEM)
    with pytest.raises(NotFound):
        users.add_user(session, "x", role="liaison", street="火星", actor=SYSTEM)
    with pytest.raises(NotFound):
        users.add_user(session, "x", role="handler", unit="不存在的单位", actor=SYSTEM)


def test_a_handler_and_a_cadre_are_also_people_who_can_be_assigned(session):
    handler = users.add_user(session, "h", role="handler", unit="区交巡警支队", actor=SYSTEM)
    cadre = users.add_user(session, "c", role="cadre", street="鱼嘴镇", actor=SYSTEM)
    assert handler.person.kind == "handler" and handler.person.unit_id == handler.unit_id
    assert cadre.person.kind == "cadre"


def test_duplicate_usernames_are_refused_whatever_the_case(session):
    users.add_user(session, "wang", role="official", actor=SYSTEM)
    with pytest.raises(ValidationError):
        users.add_user(session, "WANG", role="official", actor=SYSTEM)


def test_weak_passwords_are_refused(session):
    with pytest.raises(ValidationError):
        users.add_user(session, "w", role="official", password="123", actor=SYSTEM)
    users.add_user(session, "w", role="official", actor=SYSTEM)
    with pytest.raises(ValidationError):
        users.set_password(session, "w", "abcdefghij", actor=SYSTEM)


def test_adding_a_user_and_logging_in_are_audited(session):
    users.add_user(session, "li", role="official", password="secret123", actor=SYSTEM)
    users.authenticate(session, "li", "secret123", now=T0)
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["user.add", "login"]


def test_list_users_shows_scope_names_and_whether_a_password_is_set(session):
    users.add_user(session, "li", role="liaison", street="大石坝",
                   password="secret123", actor=SYSTEM)
    users.add_user(session, "h", role="handler", unit="区金融办", actor=SYSTEM)
    listed = {u["username"]: u for u in users.list_users(session, actor=SYSTEM)}
    assert listed["li"]["street"] == "大石坝街道" and listed["li"]["has_password"]
    assert listed["h"]["unit"] == "区金融办" and not listed["h"]["has_password"]
