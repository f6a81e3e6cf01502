"""Scale-out: two server processes share PostgreSQL and Redis, and serve one session together."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from conftest import require_service
from roundtable.live_clients import NoteClient, ServerProcess, free_port, login_cookie, prepare_database, wait_until
from roundtable.db import normalize_url

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def _redis_ok(url: str | None) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def shared_services():
    database = os.environ.get("ROUNDTABLE_TEST_DATABASE_URL")
    redis_url = os.environ.get("ROUNDTABLE_TEST_REDIS_URL")
    require_service("PostgreSQL", bool(database), "set ROUNDTABLE_TEST_DATABASE_URL")
    require_service("Redis", _redis_ok(redis_url), "set ROUNDTABLE_TEST_REDIS_URL to a running Redis")
    schema = f"scale_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(database), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in database else "?"
    try:
        yield f"{database}{sep}options=-csearch_path%3D{schema}", redis_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_a_note_sent_through_one_server_reaches_clients_of_the_other(shared_services, tmp_path):
    database_url, redis_url = shared_services
    people = prepare_database(database_url)
    one = ServerProcess(database_url, free_port(), tmp_path / "one", redis_url=redis_url)
    two = ServerProcess(database_url, free_port(), tmp_path / "two", redis_url=redis_url)
    clients = []
    try:
        one.start()
        two.start()
        writer_on_one = NoteClient(one.url, login_cookie(one.url, people["note-takers"][0]), people["session_id"])
        writer_on_two = NoteClient(two.url, login_cookie(two.url, people["note-takers"][1]), people["session_id"])
        viewer_on_two = NoteClient(two.url, login_cookie(two.url, people["viewers"][0]), people["session_id"])
        clients = [writer_on_one, writer_on_two, viewer_on_two]
        for c in clients:
            c.connect()
        wait_until(lambda: all(c.joined.is_set() for c in clients), message="all clients in the room")

        writer_on_one.send_note("sent through server one")
        wait_until(lambda: len(viewer_on_two.stream()) == 1, message="note reaches the viewer on server two")
        assert viewer_on_two.received_added == 1  # live broadcast through Redis, not a later fetch

        writer_on_two.send_note("sent through server two")
        wait_until(lambda: len(writer_on_one.stream()) == 2, message="note reaches the writer on server one")
        assert writer_on_one.stream() == viewer_on_two.stream() == writer_on_two.stream()
        assert [seq for seq, *_ in writer_on_one.stream()] == [1, 2]
    finally:
        for c in clients:
            c.disconnect()
        one.stop()
        two.stop()


def test_two_installations_sharing_one_redis_never_see_each_others_notes(tmp_path):
    """Session rooms are named by id, so both installations have a ``session-1``: only the channel keeps
    one's notes (and its revocations) from the other's viewers."""
    redis_url = os.environ.get("ROUNDTABLE_TEST_REDIS_URL")
    require_service("Redis", _redis_ok(redis_url), "set ROUNDTABLE_TEST_REDIS_URL to a running Redis")
    servers, clients = [], []
    try:
        for name in ("ours", "theirs"):
            secret = f"{name}-{uuid.uuid4().hex}"
            url = f"sqlite:///{tmp_path / name}.sqlite"
            people = prepare_database(url, secret_key=secret)
            server = ServerProcess(url, free_port(), tmp_path / name, redis_url=redis_url, secret_key=secret).start()
            servers.append(server)
            writer = NoteClient(server.url, login_cookie(server.url, people["note-takers"][0]), people["session_id"])
            viewer = NoteClient(server.url, login_cookie(server.url, people["viewers"][0]), people["session_id"])
            clients += [writer.connect(), viewer.connect()]
        ours_writer, ours_viewer, theirs_writer, theirs_viewer = clients
        wait_until(lambda: all(c.joined.is_set() for c in clients))
        assert ours_writer.session_id == theirs_writer.session_id  # the same room name on both
        ours = ours_writer.send_note("ours: the clinic opens on Monday")
        theirs = theirs_writer.send_note("theirs: the shelter needs blankets")
        wait_until(lambda: ours in ours_viewer.notes and theirs in theirs_viewer.notes)
        wait_until(lambda: not ours_writer.outbox and not theirs_writer.outbox)
        import time

        time.sleep(1.0)  # a leaked note would have arrived by now
        assert theirs not in ours_viewer.notes and ours not in theirs_viewer.notes
    finally:
        for c in clients:
            c.disconnect()
        for s in servers:
            s.stop()
