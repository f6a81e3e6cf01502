"""The composer's preview in Chromium: a writer sees what will be stored before sending, and marks a
lower-case name no detector finds, with the keyboard alone; nothing of either reaches anyone else."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from roundtable.db import normalize_url
from roundtable.live_clients import ServerProcess, free_port, prepare_database, wait_until
from test_live_browser import browser, open_session  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 390, "height": 760}
DESKTOP = {"width": 1280, "height": 820}


@pytest.fixture
def site(tmp_path):
    url = f"sqlite:///{tmp_path / 'preview.sqlite'}"
    people = prepare_database(url)
    server = ServerProcess(url, free_port(), tmp_path).start()
    yield server, people, url
    server.stop()


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
