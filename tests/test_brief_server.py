"""The brief editor and its downloads under ``roundtable serve`` as the Quickstart runs it: every plugin
loaded, in the gevent server process that keeps PyTorch out."""

from __future__ import annotations

import requests

from roundtable.db import Database
from roundtable.live_clients import PASSWORD, SECRET_KEY, ServerProcess, free_port, login_cookie, prepare_database
from roundtable.models import Role, Series
from roundtable.services.accounts import create_account, grant_role


def _with_author(url: str) -> str:
    database = Database(url, secret_key=SECRET_KEY)
    try:
        with database.session() as db:
            series = db.query(Series).filter_by(slug="harbor-city").one()
            account = create_account(db, "author@test.example", "An Author", PASSWORD)
            grant_role(db, account, series, Role.AUTHOR)
            db.commit()
    finally:
        database.dispose()
    return "author@test.example"


def test_an_author_opens_the_brief_editor_with_every_plugin_loaded(tmp_path):
    url = f"sqlite:///{tmp_path / 'brief.sqlite'}"
    prepare_database(url)
    author = _with_author(url)
    server = ServerProcess(url, free_port(), tmp_path, plugins=None).start(timeout=240)  # every plugin: the name model loads first
    try:
        cookie = login_cookie(server.url, author)
        page = requests.get(f"{server.url}/s/harbor-city/brief/report/", headers={"Cookie": cookie}, timeout=120)
        assert page.status_code == 200, page.text[-500:]
        assert "Harbor City Working Group" in page.text
    finally:
        server.stop()
