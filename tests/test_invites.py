"""Invite-only access: single-use expiring links, roles, password change, session expiry, the users command."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import PASSWORD
from roundtable.errors import Conflict, Forbidden, NotFound
from roundtable.models import Account, AuditEvent, Invite, Membership, Role
from roundtable.services.invites import accept_invite, create_invite, hash_token
from roundtable.services.members import change_role
from roundtable.models import utcnow
from roundtable.services.series import create_series
from roundtable.services.accounts import role_in_series

NEW_PASSWORD = "a much longer passphrase"


def make_link(client, slug, role="note-taker", email=""):
    response = client.post(f"/s/{slug}/invites", data={"role": role, "email": email})
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.search(r'value="(http://localhost/auth/invite/[^"]+)"', response.get_data(as_text=True))
    assert match, "the new invite link is shown"
    return match.group(1).replace("http://localhost", "")


def join(client, link, email="new.person@test.example", name="New Person", password=NEW_PASSWORD, confirm=None):
    return client.post(
        link,
        data={"email": email, "display_name": name, "password": password, "confirm_password": confirm or password},
    )


def test_facilitator_makes_a_link_and_a_new_person_joins_with_that_role(app, client, login, series, db):
    login(Role.FACILITATOR)
    link = make_link(client, series.slug, role="note-taker")
    client.post("/auth/logout")

    guest = app.test_client()
    page = guest.get(link)
    assert page.status_code == 200 and "note-taker" in page.get_data(as_text=True)
    response = join(guest, link)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/s/{series.slug}/")
    assert guest.get(f"/s/{series.slug}/").status_code == 200

    account = db.scalar(select(Account).where(Account.email == "new.person@test.example"))
    assert role_in_series(db, account, series) is Role.NOTE_TAKER
    assert account.password_hash.startswith("$argon2")


def test_invite_link_works_only_once(app, client, login, series):
    login(Role.FACILITATOR)
    link = make_link(client, series.slug)
    assert join(app.test_client(), link).status_code == 302
    second = app.test_client()
    assert second.get(link).status_code == 404
    response = join(second, link, email="someone.else@test.example")
    assert response.status_code == 404
    assert "expired or been used" in response.get_data(as_text=True)


def test_expired_invite_is_refused_with_a_clear_message(app, db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER, ttl_hours=1)
    made.invite.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    page = app.test_client().get(f"/auth/invite/{made.token}")
    assert page.status_code == 404
    assert "ask for a new one" in page.get_data(as_text=True)


def test_only_a_hash_of_the_invite_token_is_stored(db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER)
    db.commit()
    stored = db.scalar(select(Invite.token_hash).where(Invite.id == made.invite.id))
    assert stored == hash_token(made.token) and made.token not in stored
    assert len(made.token) >= 40


def test_two_simultaneous_acceptances_of_one_link_let_only_one_in(database, db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER)
    db.commit()
    first, second = database.sessionmaker(), database.sessionmaker()
    try:
        accept_invite(first, made.token, email="one@test.example", display_name="One", password=NEW_PASSWORD)
        first.commit()
        with pytest.raises(NotFound):
            accept_invite(second, made.token, email="two@test.example", display_name="Two", password=NEW_PASSWORD)
    finally:
        second.rollback()
        first.close()
        second.close()


def test_link_made_for_an_email_refuses_another_account(db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.AUTHOR, email="wanted@test.example")
    with pytest.raises(Forbidden):
        accept_invite(db, made.token, account=accounts["outsider"])


def test_link_made_for_an_email_creates_that_account_whatever_is_typed(app, client, login, series, db):
    login(Role.FACILITATOR)
    link = make_link(client, series.slug, role="viewer", email="Wanted@Test.example")
    assert join(app.test_client(), link, email="other@test.example").status_code == 302
    assert db.scalar(select(Account.id).where(Account.email == "wanted@test.example"))
    assert not db.scalar(select(Account.id).where(Account.email == "other@test.example"))


def test_short_or_mismatched_password_is_refused_and_the_link_stays_usable(app, client, login, series):
    login(Role.FACILITATOR)
    link = make_link(client, series.slug)
    guest = app.test_client()
    short = join(guest, link, password="short")
    assert short.status_code == 400 and "at least 10 characters" in short.get_data(as_text=True)
    mismatch = join(guest, link, confirm="something else entirely")
    assert mismatch.status_code == 400 and "differ" in mismatch.get_data(as_text=True)
    assert join(guest, link).status_code == 302


def test_existing_account_joins_while_logged_in_and_keeps_a_higher_role(app, client, login, db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER)
    db.commit()
    login(Role.AUTHOR)
    assert client.post(f"/auth/invite/{made.token}").status_code == 302
    assert role_in_series(db, accounts[Role.AUTHOR], series) is Role.AUTHOR


def test_existing_email_must_log_in_before_accepting(app, db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER)
    db.commit()
    response = join(app.test_client(), f"/auth/invite/{made.token}", email=accounts["outsider"].email)
    assert response.status_code == 409 and "log in first" in response.get_data(as_text=True)


def test_outsider_joins_a_second_series_through_a_link(app, client, login, db, series, accounts):
    made = create_invite(db, accounts[Role.FACILITATOR], series, Role.VIEWER)
    db.commit()
    login("outsider")
    assert client.get(f"/s/{series.slug}/").status_code == 404
    assert client.post(f"/auth/invite/{made.token}").status_code == 302
    assert client.get(f"/s/{series.slug}/").status_code == 200


@pytest.mark.parametrize(
    "who, role, allowed",
    [
        (Role.FACILITATOR, Role.FACILITATOR, True),
        (Role.FACILITATOR, Role.ADMIN, False),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_facilitators_invite_up_to_their_own_role_and_only_admins_make_admins(db, series, accounts, who, role, allowed):
    if allowed:
        assert create_invite(db, accounts[who], series, role).invite.role is role
    else:
        with pytest.raises(Forbidden):
            create_invite(db, accounts[who], series, role)


def test_note_taker_cannot_make_invite_links(client, login, series, db):
    login(Role.NOTE_TAKER)
    assert client.post(f"/s/{series.slug}/invites", data={"role": "viewer"}).status_code == 403
    assert db.scalar(select(Invite.id).where(Invite.role == Role.VIEWER)) is None


def test_facilitator_changes_and_removes_roles_and_the_log_says_who(client, login, db, series, accounts):
    facilitator = login(Role.FACILITATOR)
    viewer = accounts[Role.VIEWER]
    response = client.post(f"/s/{series.slug}/members/{viewer.id}/role", data={"role": "author"})
    assert response.status_code == 302
    assert role_in_series(db, viewer, series) is Role.AUTHOR
    assert client.post(f"/s/{series.slug}/members/{viewer.id}/remove").status_code == 302
    assert role_in_series(db, viewer, series) is None
    events = db.scalars(select(AuditEvent).where(AuditEvent.series_id == series.id).order_by(AuditEvent.id)).all()
    assert [(e.action, e.account_id) for e in events[-2:]] == [
        ("role.change", facilitator.id),
        ("member.remove", facilitator.id),
    ]
    assert events[-2].detail == {"account_id": viewer.id, "from": "viewer", "to": "author"}
    page = client.get(f"/s/{series.slug}/audit").get_data(as_text=True)
    assert "role.change" in page and "member.remove" in page


def test_facilitator_cannot_change_their_own_role_or_promote_to_admin(client, login, db, series, accounts):
    me = login(Role.FACILITATOR)
    assert client.post(f"/s/{series.slug}/members/{me.id}/role", data={"role": "viewer"}).status_code == 403
    viewer = accounts[Role.VIEWER]
    response = client.post(f"/s/{series.slug}/members/{viewer.id}/role", data={"role": "admin"})
    assert response.status_code == 403 and "may not" in response.get_data(as_text=True)
    assert role_in_series(db, me, series) is Role.FACILITATOR
    with pytest.raises(Forbidden):
        change_role(db, me, series, viewer.id, Role.ADMIN)


def test_members_page_lists_roles_and_pending_links(client, login, series, accounts):
    login(Role.FACILITATOR)
    make_link(client, series.slug, role="author", email="pending@test.example")
    page = client.get(f"/s/{series.slug}/members").get_data(as_text=True)
    assert accounts[Role.VIEWER].email in page
    assert "pending@test.example" in page
    assert "/auth/invite/" not in page, "a link is shown only once, when it is made"


def test_password_change_keeps_this_browser_and_logs_out_the_others(app, client, login, accounts):
    login(Role.VIEWER)
    other_device = app.test_client()
    other_device.post("/auth/login", data={"email": accounts[Role.VIEWER].email, "password": PASSWORD})
    assert other_device.get("/").status_code == 200

    response = client.post(
        "/auth/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other_device.get("/").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/auth/login", data={"email": accounts[Role.VIEWER].email, "password": NEW_PASSWORD}).status_code == 302


def test_password_change_needs_the_current_password(client, login):
    login(Role.VIEWER)
    response = client.post(
        "/auth/password",
        data={"current_password": "wrong one!", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 400 and "current password is wrong" in response.get_data(as_text=True)


def test_login_session_expires_after_the_maximum_age(app, client, login):
    login(Role.VIEWER)
    assert client.get("/").status_code == 200
    with client.session_transaction() as session:
        session["login_at"] -= app.config.get("SESSION_MAX_AGE_HOURS", 24) * 3600 + 1
    assert "/auth/login" in client.get("/").headers["Location"]


def test_login_cookie_is_permanent_with_a_limited_lifetime(app, client, accounts):
    response = client.post("/auth/login", data={"email": accounts[Role.VIEWER].email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() <= 24 * 3600


def test_only_admins_create_series(client, login, db, accounts):
    login(Role.FACILITATOR)
    assert client.post("/admin/series", data={"slug": "new-series", "title": "New"}).status_code == 403
    client.post("/auth/logout")
    login(Role.ADMIN)
    response = client.post("/admin/series", data={"slug": "new-series", "title": "New Series"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/s/new-series/members")
    bad = client.post("/admin/series", data={"slug": "Bad Slug!", "title": "x"})
    assert bad.status_code == 400 and "lowercase" in bad.get_data(as_text=True)
    with pytest.raises(Forbidden):
        create_series(db, accounts[Role.FACILITATOR], "another", "Another")
    with pytest.raises(Conflict):
        create_series(db, accounts[Role.ADMIN], "new-series", "Again")


def test_users_command_creates_the_first_admin_and_grants_roles(runner, db, series):
    result = runner.invoke(
        ["users", "create", "Chair@Test.example", "--name", "Chair", "--admin", "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account chair@test.example" in result.output
    runner.invoke(["users", "create", "helper@test.example", "--name", "Helper"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    result = runner.invoke(["users", "grant", "helper@test.example", series.slug, "note-taker"])
    assert result.exit_code == 0, result.output
    helper = db.scalar(select(Account).where(Account.email == "helper@test.example"))
    assert db.scalar(select(Membership.role).where(Membership.account_id == helper.id)) is Role.NOTE_TAKER
    listing = runner.invoke(["users", "list"]).output
    assert f"{series.slug}:note-taker" in listing and "chair@test.example" in listing


def test_users_command_refuses_bad_input_in_one_line(runner, accounts):
    result = runner.invoke(["users", "create", accounts[Role.VIEWER].email, "--name", "Dup", "--password", NEW_PASSWORD])
    assert result.exit_code != 0
    assert "already exists" in str(result.exception or result.output)
    result = runner.invoke(["users", "grant", accounts[Role.VIEWER].email, "harbor-city", "boss"])
    assert "unknown role" in str(result.exception or result.output)
