"""When unknown-name detection is off, the pages where notes are taken say so to the people who can fix it
(facilitators and admins); note-takers and viewers are not told to install a package."""

from __future__ import annotations

import pytest

from roundtable import create_app
from roundtable.models import Role


@pytest.fixture
def app_without_ner(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUNDTABLE_LOAD_PLUGINS", "roster,contact_details")
    return create_app({"TESTING": True, "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False, "INSTANCE_PATH": str(tmp_path),
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'rt.sqlite'}", "DISABLED_PLUGINS": ["ner"]})


@pytest.mark.parametrize("role, is_admin, told", [
    (Role.FACILITATOR, False, True), (Role.ADMIN, False, True), (Role.VIEWER, True, True),  # an installation admin
    (Role.AUTHOR, False, False), (Role.NOTE_TAKER, False, False), (Role.VIEWER, False, False),
])
def test_series_and_live_pages_tell_facilitators_and_admins_that_unknown_name_detection_is_off(
        app_without_ner, role, is_admin, told):
    from conftest import PASSWORD, make_series
    from roundtable.services.accounts import create_account, grant_role

    database = app_without_ner.extensions["roundtable"].database
    database.upgrade()
    with database.session() as db:
        series = make_series(db)
        grant_role(db, create_account(db, "member@test.example", "Member", PASSWORD, is_admin=is_admin), series, role)
    client = app_without_ner.test_client()
    assert client.post("/auth/login", data={"email": "member@test.example", "password": PASSWORD}).status_code == 302
    for path in ("/s/harbor-city/", "/s/harbor-city/sessions/1/"):
        page = client.get(path).get_data(as_text=True)
        assert ("unknown-name detection is off" in page) is told, (path, role)
    database.dispose()


def test_no_notice_when_unknown_names_are_detected(client, login, series):
    from roundtable.services.anonymize import unknown_name_detection_off

    login(Role.FACILITATOR)
    page = client.get(f"/s/{series.slug}/").get_data(as_text=True)
    assert ("detection-off" in page) == bool(unknown_name_detection_off(client.application.extensions["roundtable"]))
