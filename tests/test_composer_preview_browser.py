"""The composer's preview in Chromium: a writer sees what will be stored before sending, and marks a
lower-case name no detector finds, with the keyboard alone; nothing of either reaches anyone else."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, select, text

from roundtable.db import normalize_url
from roundtable.live_clients import wait_until
from test_live_browser import DESKTOP, PHONE, browser, open_session, served  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def site(tmp_path):
    with served(tmp_path) as site:
        yield site


def stored_strings(url: str) -> str:
    """Every value of every row of every table, as one lower-case string."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            values = [str(v) for table in inspect(conn).get_table_names()
                      for row in conn.execute(text(f'SELECT * FROM "{table}"')) for v in row if v is not None]
    finally:
        engine.dispose()
    return "\n".join(values).casefold()


def note_count(url: str) -> int:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM notes")).scalar_one()
    finally:
        engine.dispose()


def test_the_writer_sees_the_replacement_marks_a_lower_case_name_by_keyboard_and_only_the_replacement_is_stored(
        browser, site, tmp_path):
    server, people, url = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], DESKTOP)
    _ctx2, viewer, viewer_errors = open_session(browser, server, people["viewers"][0], PHONE)

    box = writer.locator("#note-text")
    box.click()
    writer.keyboard.type("María Núñez said zofia runs intake")
    mark = writer.locator("#preview-text mark.replaced")
    mark.first.wait_for()
    assert mark.all_inner_texts() == ["A legal advocate"]
    assert mark.first.get_attribute("title") == "Replaces “María Núñez”"
    assert writer.locator("#preview-changes").get_attribute("aria-live") == "polite"
    assert writer.locator("#preview-changes").inner_text() == "Will replace “María Núñez” with “A legal advocate”."
    writer.screenshot(path=str(tmp_path / "preview-desktop.png"))
    assert note_count(url) == 0, "a preview stores nothing"
    assert viewer.locator("#notes .note").count() == 0

    # The cursor into "zofia", then Tab to "Mark as name" and press Space: no mouse needed.
    for _ in range(3):
        writer.keyboard.press("Control+ArrowLeft")
    writer.keyboard.press("Tab")
    writer.keyboard.press("Tab")
    assert writer.evaluate("document.activeElement.id") == "mark-name-button"
    writer.keyboard.press("Space")
    writer.locator("#marked-names .chip >> text=Name: zofia").wait_for()
    wait_until(lambda: mark.all_inner_texts() == ["A legal advocate", "[name]"], message="the marked name in the preview")
    assert "“zofia” with “[name]”" in writer.locator("#preview-changes").inner_text()
    assert writer.evaluate("document.activeElement.id") == "note-text"
    writer.screenshot(path=str(tmp_path / "marked-desktop.png"))

    writer.keyboard.press("Enter")
    viewer.locator("#notes .note .note-text").first.wait_for()
    assert viewer.locator("#notes .note .note-text").inner_text() == "A legal advocate said [name] runs intake"
    assert "zofia" not in viewer.content().casefold()
    wait_until(lambda: note_count(url) == 1)
    assert "zofia" not in stored_strings(url)
    assert writer.locator("#marked-names .chip").count() == 0, "marks belong to the note that was sent"
    assert writer.locator("#note-preview").is_hidden()
    assert [e for e in errors + viewer_errors if not e.startswith("Failed to load resource")] == []


def test_at_phone_width_the_preview_and_mark_button_fit_above_the_keyboard(browser, site, tmp_path):
    server, people, _url = site
    _ctx, writer, errors = open_session(browser, server, people["note-takers"][0], PHONE)
    writer.locator("#note-text").click()
    writer.keyboard.type("Hope said tomasz will chair")
    writer.locator("#preview-text mark.replaced").first.wait_for()
    writer.keyboard.press("Control+ArrowLeft")
    writer.keyboard.press("Control+ArrowLeft")
    writer.keyboard.press("Control+ArrowLeft")
    writer.keyboard.press("Alt+n")
    wait_until(lambda: writer.locator("#preview-text").inner_text() == "A municipal leader said [name] will chair")
    writer.screenshot(path=str(tmp_path / "preview-phone.png"))
    composer = writer.locator("#composer").bounding_box()
    button = writer.locator("#mark-name-button").bounding_box()
    assert composer["y"] >= 0 and composer["y"] + composer["height"] <= PHONE["height"] + 1
    assert button["x"] + button["width"] <= PHONE["width"]
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def test_a_facilitator_marks_a_missed_name_in_the_edit_box_by_keyboard_and_the_roster_replaces_it_from_then_on(
        browser, site, tmp_path):
    from roundtable.db import Database
    from roundtable.live_clients import PASSWORD, SECRET_KEY
    from roundtable.models import Participant, Role, Series
    from roundtable.services.accounts import create_account, grant_role

    server, people, url = site
    database = Database(url, secret_key=SECRET_KEY)
    try:
        with database.session() as db:
            series = db.scalars(select(Series)).one()
            grant_role(db, create_account(db, "chair@test.example", "Chair", PASSWORD), series, Role.FACILITATOR)
            db.commit()
    finally:
        database.dispose()
    _ctx, chair, errors = open_session(browser, server, "chair@test.example", DESKTOP)
    _ctx2, viewer, viewer_errors = open_session(browser, server, people["viewers"][0], PHONE)

    chair.locator("#note-text").click()
    chair.keyboard.type("tomasz will chair the next meeting")
    chair.keyboard.press("Enter")
    sent = chair.locator("#notes .note .note-text").first
    wait_until(lambda: sent.inner_text() == "tomasz will chair the next meeting", message="the note, name missed")

    chair.locator("#notes .note [data-action=edit]").first.click()
    edit = chair.locator("#notes .note .edit-box")
    edit.wait_for()
    chair.keyboard.press("Control+Home")  # the cursor into "tomasz"; Tab to Mark as name, Space: no mouse
    chair.keyboard.press("Tab")
    assert chair.evaluate("document.activeElement.textContent") == "Mark as name"
    chair.keyboard.press("Space")
    chair.locator("#notes .note .edit-names .chip >> text=Name: tomasz").wait_for()
    assert chair.evaluate("document.activeElement.classList.contains('edit-box')")
    chair.screenshot(path=str(tmp_path / "edit-marked-desktop.png"))
    chair.keyboard.press("Enter")

    viewer_text = viewer.locator("#notes .note .note-text").first
    wait_until(lambda: "tomasz" not in viewer_text.inner_text().casefold(), message="the edit reaching the viewer")
    assert viewer_text.inner_text() == "[name] will chair the next meeting"
    chair.locator("#roster-message >> text=Added to this series' roster").wait_for()
    assert "“tomasz”" in chair.locator("#roster-message").inner_text()
    chair.screenshot(path=str(tmp_path / "edit-saved-desktop.png"))

    # From now on nobody needs to mark him: the preview and the stored note replace him.
    chair.locator("#note-text").click()
    chair.keyboard.type("tomasz agreed")
    wait_until(lambda: "tomasz" not in chair.locator("#preview-text").inner_text().casefold()
               and chair.locator("#preview-text").inner_text() != "", message="the roster in the preview")
    chair.keyboard.press("Enter")
    wait_until(lambda: note_count(url) == 2)
    assert "tomasz" not in stored_strings(url), "only the roster holds him, encrypted"
    database = Database(url, secret_key=SECRET_KEY)
    try:
        with database.session() as db:
            assert [(p.name, p.role_label) for p in db.scalars(select(Participant)) if p.name == "tomasz"] == [
                ("tomasz", "person named in notes")]
    finally:
        database.dispose()
    assert [e for e in errors + viewer_errors if not e.startswith("Failed to load resource")] == []
