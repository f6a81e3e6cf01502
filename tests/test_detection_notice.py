"""When unknown-name detection is off, the pages where notes are taken say so."""

from __future__ import annotations

import pytest

from roundtable import create_app
from roundtable.models import Role


@pytest.fixture
def app_without_ner(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUNDTABLE_LOAD_PLUGINS", "roster,patterns")
    return create_app({"TESTING": True, "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False, "INSTANCE_PATH": str(tmp_path),
                       "DATABASE_URL": f"sqlite:///{tmp_path / 'rt.sqlite'}", "DISABLED_PLUGINS": ["ner"]})


def test_series_and_live_pages_say_unknown_name_detection_is_off(app_without_ner, tmp_path):
    from conftest import PASSWORD, make_series
    from roundtable.services.accounts import create_account, grant_role

    database = app_without_ner.extensions["roundtable_db"]
    database.upgrade()
    with database.session() as db:
        series = make_series(db)
        grant_role(db, create_account(db, "nt@test.example", "NT", PASSWORD), series, Role.NOTE_TAKER)
    client = app_without_ner.test_client()
    assert client.post("/auth/login", data={"email": "nt@test.example", "password": PASSWORD}).status_code == 302
    for path in ("/s/harbor-city/", "/s/harbor-city/sessions/1/"):
        page = client.get(path).get_data(as_text=True)
        assert "unknown-name detection is off" in page, path
    database.dispose()


def test_no_notice_when_unknown_names_are_detected(client, login, series):
    from roundtable.services.anonymize import unknown_name_detection_off

    login(Role.NOTE_TAKER)
    page = client.get(f"/s/{series.slug}/").get_data(as_text=True)
    assert ("detection-off" in page) == bool(unknown_name_detection_off(client.application.extensions["roundtable_pm"]))
