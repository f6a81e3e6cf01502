"""The brief editor and its downloads under ``roundtable serve`` as the Quickstart runs it: every plugin
loaded, in the gevent server process that keeps PyTorch out."""

from __future__ import annotations

import pytest
import requests

from roundtable.db import Database
from roundtable.live_clients import PASSWORD, SECRET_KEY, ServerProcess, free_port, login_cookie, prepare_database
from roundtable.models import Role, Series
from roundtable.services.accounts import create_account, grant_role
from test_live_browser import browser  # noqa: F401  (the browser fixture)


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


PHONE = {"width": 390, "height": 760}


@pytest.fixture
def author_site(tmp_path):
    url = f"sqlite:///{tmp_path / 'author.sqlite'}"
    prepare_database(url)
    author = _with_author(url)
    server = ServerProcess(url, free_port(), tmp_path, plugins="roster,contact_details,report_sections,exporters").start()
    yield server, author
    server.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_at_phone_width_an_author_clicks_from_the_series_to_each_brief_and_every_control_fits(browser, author_site):
    server, author = author_site
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(server.url + "/auth/login")
    page.fill("input[name=email]", author)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    for link in ("Policy report", "Research brief"):
        page.goto(server.url + "/s/harbor-city/")
        page.get_by_role("link", name=link, exact=True).first.click()
        page.wait_for_selector("textarea")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{link}: page scrolls sideways"
        for control in page.locator("main button, main input[type=checkbox], main a").all():
            box = control.bounding_box()
            assert box is None or box["x"] + box["width"] <= PHONE["width"], \
                f"{link}: {control.evaluate('e => e.outerHTML')[:80]} is past the right edge"
    context.close()


@pytest.fixture
def demo_site(tmp_path):
    from roundtable.application import Roundtable
    from roundtable.cli.demo import DEMO_PASSWORD, load_demo

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    roundtable = Roundtable({"SECRET_KEY": SECRET_KEY, "DATABASE_URL": url})
    series = load_demo(roundtable)
    slug = series.slug
    roundtable.database.dispose()
    server = ServerProcess(url, free_port(), tmp_path, plugins="roster,contact_details,report_sections,exporters").start()
    yield server, slug, DEMO_PASSWORD
    server.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_each_source_note_in_the_workbench_reads_on_one_line_beside_its_checkbox(browser, demo_site):
    server, slug, password = demo_site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)
    page.goto(server.url + "/auth/login")
    page.fill("input[name=email]", "author@demo.example")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.goto(f"{server.url}/s/{slug}/brief/report/")
    page.get_by_role("link", name="Workbench: sources and review").click()
    label = page.locator(".source-notes label").first
    box = label.locator("input[name=keep]").bounding_box()
    badge = label.locator(".badge").first.bounding_box()
    assert badge["x"] > box["x"] + box["width"] and abs(badge["y"] - box["y"]) < box["height"] + 8, \
        "the session and note number sit beside the checkbox, not under it"
    assert badge["width"] < 300, "a badge is as wide as its words, not the column"
    page.close()
