"""Revocation takes effect at once: removal, a lower role, logout and a password change end access
over HTTP and on every open socket of the account, also across two server processes over Redis.

Real servers, real python-socketio clients (roundtable/live_clients.py).
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from conftest import add_facilitator
from roundtable.live_clients import (
    PASSWORD, SECRET_KEY, NoteClient, ServerProcess, free_port, login_cookie, prepare_database, wait_until,
)
from roundtable.db import Database
from roundtable.models import Account
from test_scaleout import shared_services  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def _account_id(url: str, email: str) -> int:
    database = Database(url, secret_key=SECRET_KEY)
    with database.session() as db:
        account_id = db.query(Account).filter_by(email=email).one().id
    database.dispose()
    return account_id


class Browser:
    """A logged-in requests session that posts forms with their CSRF token, like a browser."""

    def __init__(self, base_url: str, email: str):
        self.base_url = base_url
        self.http = requests.Session()
        page = self.http.get(base_url + "/auth/login", timeout=10)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = self.http.post(base_url + "/auth/login", data={"email": email, "password": PASSWORD,
                                  "csrf_token": token}, allow_redirects=False, timeout=10)
        assert response.status_code == 302
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def post(self, path: str, data: dict | None = None, page: str = "/") -> requests.Response:
        token = re.search(r'name="csrf-token" content="([^"]+)"', self.http.get(self.base_url + page, timeout=10).text)
        return self.http.post(self.base_url + path, data={**(data or {}), "csrf_token": token.group(1)},
                              allow_redirects=False, timeout=10)


def _client(base_url: str, email: str, session_id: int, clients: list) -> NoteClient:
    client = NoteClient(base_url, login_cookie(base_url, email), session_id, name=email)
    client.revoked = []
    client.sio.on("access:revoked", client.revoked.append)
    client.connect()
    clients.append(client)
    assert client.joined.wait(60)
    return client


def _checkpoint(writer: NoteClient) -> str:
    """A note sent by ``writer`` and stored (the writer holds its own copy with a sequence number)."""
    note = writer.send_note(f"checkpoint {uuid.uuid4()}")
    wait_until(lambda: note in writer.notes and writer.notes[note]["seq"] > 0, message="the writer's note")
    writer.catch_up()
    return note


def _assert_note_reaches(client: NoteClient, writer: NoteClient) -> None:
    note = _checkpoint(writer)
    wait_until(lambda: note in client.notes, message=f"the note to reach {client.name}")


def _note_reaches_within_2_seconds(client: NoteClient, writer: NoteClient) -> bool:
    """Whether a note sent now reaches ``client`` in the next 2 s: how long a revoked socket is watched
    for a leak (a longer window would only make the test slower, never flakier)."""
    note = _checkpoint(writer)
    try:
        wait_until(lambda: note in client.notes, timeout=2)
        return True
    except AssertionError:
        return False


def test_a_removed_viewer_stops_receiving_notes_at_once(revocation_site):
    process, people, url, clients = revocation_site
    sid = people["session_id"]
    writer = _client(process.url, people["note-takers"][0], sid, clients)
    viewer = _client(process.url, people["viewers"][0], sid, clients)
    _assert_note_reaches(viewer, writer)
    facilitator = Browser(process.url, people["facilitator"])
    response = facilitator.post(f"/s/harbor-city/members/{_account_id(url, people['viewers'][0])}/remove")
    assert response.status_code == 302, response.text
    wait_until(lambda: viewer.revoked and not viewer.sio.connected, message="the removed viewer's socket to close")
    assert not _note_reaches_within_2_seconds(viewer, writer)
    # The page's own link no longer opens either.
    page = requests.get(f"{process.url}/s/harbor-city/sessions/1/", headers={"Cookie": viewer.cookie}, timeout=10)
    assert page.status_code == 404


def test_a_note_taker_lowered_to_viewer_stops_writing_at_once(revocation_site):
    process, people, url, clients = revocation_site
    sid = people["session_id"]
    writer = _client(process.url, people["note-takers"][0], sid, clients)
    lowered = _client(process.url, people["note-takers"][1], sid, clients)
    facilitator = Browser(process.url, people["facilitator"])
    account_id = _account_id(url, people["note-takers"][1])
    assert facilitator.post(f"/s/harbor-city/members/{account_id}/role", {"role": "viewer"}).status_code == 302
    wait_until(lambda: lowered.revoked and not lowered.sio.connected, message="the lowered account's socket to close")
    # The page reloads: it reads as a viewer and may not write.
    lowered.disconnect()
    lowered = _client(process.url, people["note-takers"][1], sid, clients)
    reply = lowered.sio.call("note:add", {"session_id": sid, "uuid": str(uuid.uuid4()), "text": "still here"}, timeout=10)
    assert reply["code"] == 403
    _assert_note_reaches(lowered, writer)


def test_logout_ends_the_saved_cookie_and_every_open_socket(revocation_site):
    process, people, url, clients = revocation_site
    sid = people["session_id"]
    email = people["note-takers"][0]
    writer = _client(process.url, email, sid, clients)
    other_device = _client(process.url, email, sid, clients)
    browser = Browser(process.url, email)
    saved_cookie = browser.cookie
    assert browser.post("/auth/logout").status_code == 302
    wait_until(lambda: writer.revoked and other_device.revoked and not writer.sio.connected
               and not other_device.sio.connected, message="the account's sockets to close")
    page = requests.get(f"{process.url}/s/harbor-city/", headers={"Cookie": saved_cookie}, timeout=10,
                        allow_redirects=False)
    assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
    # A socket opened with a cookie saved before the logout is refused.
    replay = NoteClient(process.url, writer.cookie, sid)
    with pytest.raises(Exception):
        replay.connect(wait=5)
    replay.disconnect()


def test_a_password_change_closes_the_accounts_sockets(revocation_site):
    process, people, url, clients = revocation_site
    sid = people["session_id"]
    email = people["note-takers"][0]
    writer = _client(process.url, email, sid, clients)
    browser = Browser(process.url, email)
    response = browser.post("/auth/password", {"current_password": PASSWORD, "new_password": "a fresh 9 lantern quilt",
                                               "confirm_password": "a fresh 9 lantern quilt"}, page="/auth/password")
    assert response.status_code == 302
    wait_until(lambda: writer.revoked and not writer.sio.connected, message="the account's socket to close")
    page = requests.get(f"{process.url}/s/harbor-city/", headers={"Cookie": writer.cookie}, timeout=10,
                        allow_redirects=False)
    assert page.status_code == 302


@pytest.mark.postgres
@pytest.mark.redis
def test_removal_on_one_server_closes_the_members_socket_on_the_other(shared_services, tmp_path):
    database_url, redis_url = shared_services
    people = prepare_database(database_url, note_takers=1, viewers=1)
    people["facilitator"] = add_facilitator(database_url)
    one = ServerProcess(database_url, free_port(), tmp_path / "one", redis_url=redis_url)
    two = ServerProcess(database_url, free_port(), tmp_path / "two", redis_url=redis_url)
    clients: list = []
    try:
        one.start()
        two.start()
        sid = people["session_id"]
        viewer_on_one = _client(one.url, people["viewers"][0], sid, clients)
        writer_on_two = _client(two.url, people["note-takers"][0], sid, clients)
        _assert_note_reaches(viewer_on_one, writer_on_two)
        facilitator = Browser(two.url, people["facilitator"])
        viewer_id = _account_id(database_url, people["viewers"][0])
        assert facilitator.post(f"/s/harbor-city/members/{viewer_id}/remove").status_code == 302
        wait_until(lambda: viewer_on_one.revoked and not viewer_on_one.sio.connected,
                   message="the viewer's socket on the other server to close")
        assert not _note_reaches_within_2_seconds(viewer_on_one, writer_on_two)
    finally:
        for client in clients:
            client.disconnect()
        one.stop()
        two.stop()
