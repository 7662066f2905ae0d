"""Login sessions on the server and login throttling, on both backends, on the services'
clock (crm.db.now), never by sleeping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import crm.db
from crm import auth
from crm.access import SYSTEM
from crm.errors import AuthError, ValidationError
from crm.models import AuditLog, LoginFailure, Setting, UserSession
from crm.services import sessions, users

T0 = dt.datetime(2026, 11, 2, 9, 0, 0)


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The services' clock (like conftest's district_clock), moved by the test."""
    clock = Clock(T0)
    monkeypatch.setattr(crm.db, "now", clock)
    return clock


@pytest.fixture
def li(session):
    user = users.add_user(session, "li", role="liaison", street="江北城",
                          password="secret123", actor=SYSTEM)
    session.flush()
    return user


def _ended(session, token) -> bool:
    try:
        return sessions.resume(session, token) is None
    except AuthError as err:
        assert err.key == "login.session_ended"
        return True


# --- sessions ---------------------------------------------------------------------------------

def test_a_session_resumes_its_login_and_only_the_token_hash_is_stored(session, li, clock):
    token = sessions.start(session, li.id, address="10.0.0.5")
    actor = sessions.resume(session, token)
    assert (actor.username, actor.role, actor.street_id) == ("li", "liaison", li.street_id)
    row = session.scalar(select(UserSession))
    assert row.token_hash == auth.token_hash(token) and token not in row.token_hash
    assert row.address == "10.0.0.5"
    assert sessions.resume(session, "no-such-token") is None


def test_a_session_idle_longer_than_the_setting_has_ended(session, li, clock, monkeypatch):
    monkeypatch.setenv("CRM_SESSION_IDLE_MINUTES", "30")
    token = sessions.start(session, li.id)
    clock.advance(minutes=29)
    assert sessions.resume(session, token) is not None  # seen: the idle time starts again
    clock.advance(minutes=29)
    assert sessions.resume(session, token) is not None
    clock.advance(minutes=31)
    assert _ended(session, token)
    clock.advance(minutes=1)
    assert _ended(session, token)  # and it stays ended


def test_the_idle_limit_follows_the_setting(session, li, clock, monkeypatch):
    monkeypatch.setenv("CRM_SESSION_IDLE_MINUTES", "5")
    token = sessions.start(session, li.id)
    clock.advance(minutes=6)
    assert _ended(session, token)


def test_last_seen_is_written_at_most_once_a_minute(session, li, clock):
    token = sessions.start(session, li.id)
    row = session.scalar(select(UserSession))
    clock.advance(seconds=30)
    sessions.resume(session, token)
    assert row.last_seen_at == T0
    clock.advance(seconds=31)
    sessions.resume(session, token)
    assert row.last_seen_at == T0 + dt.timedelta(seconds=61)


def test_an_active_session_still_ends_at_the_absolute_limit(session, li, clock, monkeypatch):
    monkeypatch.setenv("CRM_SESSION_MAX_HOURS", "12")
    token = sessions.start(session, li.id)
    for _ in range(71):  # a request every 10 minutes for 11 h 50 min
        clock.advance(minutes=10)
        assert sessions.resume(session, token) is not None
    clock.advance(minutes=10)
    assert _ended(session, token)


def test_logout_ends_the_session_but_not_the_other_sessions_of_the_login(session, li, clock):
    first, second = sessions.start(session, li.id), sessions.start(session, li.id)
    sessions.end(session, first)
    assert _ended(session, first)
    assert sessions.resume(session, second) is not None


def test_deactivating_a_login_ends_its_sessions_and_refuses_its_password(session, li, clock):
    token = sessions.start(session, li.id)
    users.deactivate_user(session, "li", actor=SYSTEM)
    assert _ended(session, token)
    with pytest.raises(AuthError) as err:
        users.authenticate(session, "li", "secret123")
    assert err.value.key == "login.failed"
    users.activate_user(session, "li", actor=SYSTEM)
    assert users.authenticate(session, "li", "secret123").username == "li"
    assert _ended(session, token)  # reactivating does not bring old sessions back
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert "user.deactivate" in actions and "user.activate" in actions


def test_an_admin_resetting_a_password_ends_the_logins_sessions(session, li, clock):
    token = sessions.start(session, li.id)
    users.set_password(session, "li", "newpass123", actor=SYSTEM)
    assert _ended(session, token)


def test_a_changed_role_applies_to_an_open_session_at_once(session, li, clock):
    token = sessions.start(session, li.id)
    users.set_role(session, "li", role="handler", unit="区交巡警支队", actor=SYSTEM)
    actor = sessions.resume(session, token)
    assert actor.role == "handler" and actor.unit_id is not None and actor.street_id is None


def test_the_secret_key_is_made_once_and_kept_unless_configured(session, monkeypatch):
    monkeypatch.delenv("CRM_SECRET_KEY", raising=False)
    first = sessions.secret_key(session)
    assert len(first) >= 48 and sessions.secret_key(session) == first
    assert session.get(Setting, sessions.SECRET_SETTING).value == first
    monkeypatch.setenv("CRM_SECRET_KEY", "from-the-environment")
    assert sessions.secret_key(session) == "from-the-environment"


def test_a_cookie_with_a_forged_signature_names_no_token():
    value = auth.sign("token123", "secret")
    assert auth.unsign(value, "secret") == "token123"
    assert auth.unsign(value, "another secret") is None
    assert auth.unsign("token123.forged", "secret") is None
    assert auth.unsign("token123", "secret") is None and auth.unsign(None, "secret") is None


def test_the_proxy_header_names_the_client_only_when_the_proxy_is_trusted():
    forged_then_real = "6.6.6.6, 203.0.113.7"
    assert auth.client_address(forged_then_real, "10.0.0.9", True) == "203.0.113.7"
    assert auth.client_address(forged_then_real, "10.0.0.9", False) == "10.0.0.9"
    assert auth.client_address(None, "10.0.0.9", True) == "10.0.0.9"
    assert auth.client_address(None, None, False) == "local"


# --- throttling -------------------------------------------------------------------------------

def _fail(session, name, address, now=None):
    with pytest.raises(AuthError) as err:
        users.authenticate(session, name, "wrong-password1", now=now or T0, address=address)
    return err.value


def test_an_unknown_username_gets_the_same_message_and_the_same_lock(session, li):
    real = [_fail(session, "li", "10.0.0.1") for _ in range(auth.FREE_ATTEMPTS + 1)]
    ghost = [_fail(session, "nobody", "10.0.0.1") for _ in range(auth.FREE_ATTEMPTS + 1)]
    assert [(e.key, e.params) for e in real] == [(e.key, e.params) for e in ghost]
    assert real[-1].key == "login.locked"
    assert real[-1].params["seconds"] == auth.BASE_LOCK_SECONDS


def test_a_lock_from_one_address_does_not_lock_the_real_user_elsewhere(session, li):
    for _ in range(auth.FREE_ATTEMPTS + 2):
        _fail(session, "li", "203.0.113.9")
    assert _fail(session, "li", "203.0.113.9").key == "login.locked"
    actor = users.authenticate(session, "li", "secret123", now=T0, address="10.1.2.3")
    assert actor.username == "li"


def test_a_success_clears_the_misses_of_its_own_address(session, li):
    for _ in range(auth.FREE_ATTEMPTS - 1):
        _fail(session, "li", "10.0.0.1")
    users.authenticate(session, "li", "secret123", now=T0, address="10.0.0.1")
    assert _fail(session, "li", "10.0.0.1").key == "login.failed"


def test_an_address_trying_many_usernames_is_refused_for_a_window(session, monkeypatch):
    monkeypatch.setenv("CRM_LOGIN_ADDRESS_LIMIT", "4")
    monkeypatch.setenv("CRM_LOGIN_WINDOW_MINUTES", "15")
    for i in range(4):
        assert _fail(session, f"guess{i}", "198.51.100.7").key == "login.failed"
    refused = _fail(session, "someone_new", "198.51.100.7")
    assert refused.key == "login.locked" and refused.params["seconds"] == 15 * 60
    assert _fail(session, "someone_new", "10.0.0.2").key == "login.failed"
    later = T0 + dt.timedelta(minutes=15, seconds=1)
    assert _fail(session, "someone_new", "198.51.100.7", now=later).key == "login.failed"


def test_a_username_attacked_from_many_addresses_is_locked_for_everyone(session, li,
                                                                         monkeypatch):
    monkeypatch.setenv("CRM_LOGIN_ACCOUNT_LIMIT", "4")
    for i in range(4):
        _fail(session, "li", f"192.0.2.{i}")
    with pytest.raises(AuthError) as err:
        users.authenticate(session, "li", "secret123", now=T0, address="10.9.9.9")
    assert err.value.key == "login.locked"
    assert _fail(session, "nobody", "10.9.9.9").key == "login.failed"  # others are not
    for i in range(4):
        _fail(session, "ghost", f"192.0.2.{i}")
    assert _fail(session, "ghost", "10.9.9.9").key == "login.locked"  # same for unknown names


def test_misses_older_than_a_day_are_deleted_at_the_next_miss(session):
    _fail(session, "li", "10.0.0.1", now=T0)
    _fail(session, "li", "10.0.0.2", now=T0 + dt.timedelta(hours=25))
    assert session.scalars(select(LoginFailure.address)).all() == ["10.0.0.2"]


def test_names_tried_once_are_forgotten_too(session):
    """A spray of made-up logins leaves no row behind a day later, whoever misses next."""
    for i in range(5):
        _fail(session, f"made-up-{i}", "203.0.113.9", now=T0)
    _fail(session, "li", "10.0.0.2", now=T0 + dt.timedelta(hours=25))
    assert session.scalars(select(LoginFailure.username)).all() == ["li"]


def test_an_admin_unlocks_a_login(session, li):
    for _ in range(auth.FREE_ATTEMPTS + 1):  # the last one is refused, not counted
        _fail(session, "li", "10.0.0.1")
    assert users.unlock_user(session, "li", actor=SYSTEM) == auth.FREE_ATTEMPTS
    assert users.authenticate(session, "li", "secret123", now=T0, address="10.0.0.1")
    assert users.get_user(session, "li").failed_logins == 0


def test_the_admin_list_counts_recent_failed_logins(session, li, clock):
    for _ in range(2):
        _fail(session, "li", "10.0.0.1", now=clock.now)
    listed = {u["username"]: u for u in users.list_users(session, actor=SYSTEM)}
    assert listed["li"]["failed_logins"] == 2


def test_every_miss_is_audited_with_the_address_known_name_or_not(session, li):
    _fail(session, "li", "10.0.0.1")
    _fail(session, "nobody", "10.0.0.1")
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "login.failed")
                           .order_by(AuditLog.id)).all()
    assert [(r.entity_id, r.detail["username"], r.detail["address"]) for r in rows] == [
        (li.id, "li", "10.0.0.1"), (None, "nobody", "10.0.0.1")]


# --- the admin's changes ----------------------------------------------------------------------

def test_changing_a_role_and_scope_is_audited_with_before_and_after(session, li):
    users.set_role(session, "li", role="cadre", street="大石坝", actor=SYSTEM)
    user = users.get_user(session, "li")
    assert user.role == "cadre" and user.street.name == "大石坝街道"
    assert user.person is not None and user.person.kind == "cadre"
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "user.set_role"))
    assert entry.before == {"role": "liaison", "street": "江北城街道", "unit": None,
                            "chamber": None}
    assert entry.after["role"] == "cadre"


def test_a_role_change_needs_the_roles_scope(session, li):
    with pytest.raises(ValidationError) as err:
        users.set_role(session, "li", role="handler", actor=SYSTEM)
    assert (err.value.key, err.value.params["scope"]) == ("users.scope_needed", "unit")


def test_the_last_active_admin_stays_an_admin_and_active(session):
    users.add_user(session, "boss", role="admin", actor=SYSTEM)
    with pytest.raises(ValidationError) as err:
        users.set_role(session, "boss", role="official", actor=SYSTEM)
    assert err.value.key == "users.last_admin"
    with pytest.raises(ValidationError):
        users.deactivate_user(session, "boss", actor=SYSTEM)
    users.add_user(session, "deputy", role="admin", actor=SYSTEM)
    users.set_role(session, "boss", role="official", actor=SYSTEM)


def test_nobody_deactivates_themselves(session):
    boss = users.add_user(session, "boss", role="admin", actor=SYSTEM)
    users.add_user(session, "deputy", role="admin", actor=SYSTEM)
    with pytest.raises(ValidationError) as err:
        users.deactivate_user(session, "boss", actor=users.actor_of(boss))
    assert err.value.key == "users.not_self"
