"""Bad input breaks nothing: random and malformed payloads to every socket event and every form.

For each, sent by a site admin (so access checks pass and the handler's own
validation is what is tested): the server stays up, answers with a clear error
(an ``error`` event with a code and a message, or a 4xx page), and when it
answers with an error the database is exactly as before.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roundtable.models import Role
from security_support import (
    SignedInClients,
    Snapshot,
    build_url,
    build_world,
    dump_tables,
    socket_events,
    SOCKET_LIFECYCLE_EVENTS,
)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SOCKET_EXAMPLES = 20
FORM_EXAMPLES = 10
FUZZ_SETTINGS = dict(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
PAYLOAD_KEYS = [
    "session_id", "note_id", "tag_id", "theme_id", "uuid", "text", "kind", "speaker_role", "themes",
    "version", "after", "typing", "series", "slug",
]


@pytest.fixture
def database_url(tmp_path):
    """SQLite, so that each example starts from the same snapshot."""
    return f"sqlite:///{tmp_path / 'fuzz.sqlite'}"


@pytest.fixture
def world(db, series, accounts):
    return build_world(db, series, accounts)


def integers_across_the_range():
    """Small ids, the edges of 32- and 64-bit columns, and numbers no column holds (Engine.IO refuses
    integers of more than 100 digits before any handler runs)."""
    edges = [0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, 10**23, -(10**23), 10**99]
    return st.integers(min_value=-(2**63), max_value=2**63) | st.sampled_from(edges) | st.integers(min_value=10**18, max_value=10**40)


def awkward_text():
    """Lone surrogates (half an emoji), format characters (zero-width, bidi, BOM, soft hyphen) and both mixed in text."""
    awkward = ["\ud83d", "\udc00", "a\ud800b", "\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u00ad", "\u2060"]
    return st.sampled_from(awkward) | st.lists(st.sampled_from(awkward + ["x", " ", "Ma", "ría"]), max_size=8).map("".join)


def json_values():
    scalars = (
        st.none()
        | st.booleans()
        | integers_across_the_range()
        | st.floats(allow_nan=False)
        | st.text(max_size=50)
        | st.sampled_from(["", " ", "<script>alert(1)</script>", "x" * 25000, "\x00", "1", "-1", "point", "🙂"])
        | awkward_text()
    )
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=8)


def socket_payloads(world):
    """Not objects at all; objects with random keys; and objects naming the real session with bad fields."""
    real = {"session_id": world.values["session_id"]}
    keyed = st.dictionaries(st.sampled_from(PAYLOAD_KEYS), json_values(), max_size=6)
    return st.one_of(
        json_values(),
        keyed,
        keyed.map(lambda d: {**d, **real}),
        st.fixed_dictionaries(
            {"session_id": st.just(real["session_id"]), "note_id": st.integers(-5, 10**12), "version": st.integers(-5, 10**12)},
            optional={"text": json_values(), "kind": json_values(), "uuid": json_values(), "theme_id": json_values()},
        ),
    )


def _errors(received) -> list:
    return [m["args"][0] if m["args"] else None for m in received if m["name"] == "error"]


def _is_clear_error(body) -> bool:
    return isinstance(body, dict) and isinstance(body.get("code"), int) and isinstance(body.get("error"), str) and body["error"].strip() != ""


def test_malformed_socket_payloads_get_clear_errors_and_change_nothing(app, database, accounts, world):
    socketio = app.extensions["socketio"]
    clients = SignedInClients(app, accounts)
    snapshot = Snapshot(database)
    pristine = dump_tables(database.engine)
    events = [(ns, event) for ns, event, _ in socket_events(app) if event not in SOCKET_LIFECYCLE_EVENTS]
    problems = []
    try:
        for namespace, event in events:
            client = socketio.test_client(app, namespace=namespace, flask_test_client=clients.client(Role.ADMIN))
            assert client.is_connected(namespace)

            @settings(max_examples=SOCKET_EXAMPLES, **FUZZ_SETTINGS)
            @given(payload=socket_payloads(world))
            def send(payload):
                snapshot.restore()
                client.get_received(namespace)
                ack = client.emit(event, payload, namespace=namespace, callback=True)
                errors = _errors(client.get_received(namespace))
                if errors:
                    if not all(_is_clear_error(e) for e in errors):
                        problems.append(f"{event} {payload!r:.80}: unclear error {errors!r:.200}")
                    if dump_tables(database.engine) != pristine:
                        problems.append(f"{event} {payload!r:.80}: answered with an error but changed the database")
                elif isinstance(ack, dict) and "code" in ack and not ack.get("ok"):
                    problems.append(f"{event} {payload!r:.80}: error acknowledged without an error event")

            send()
            client.disconnect(namespace)
        snapshot.restore()
        client = socketio.test_client(app, flask_test_client=clients.client(Role.ADMIN))
        assert client.is_connected(), "the server still accepts connections after the fuzzing"
        client.disconnect()
    finally:
        snapshot.close()
    assert events, "no socket events registered"
    assert problems == [], "\n".join(problems[:40])


def form_field_names() -> list[str]:
    """Every ``name="..."`` in the templates, so random forms use the fields real forms have."""
    names = set()
    for path in TEMPLATES.rglob("*.html"):
        names.update(re.findall(r'\bname="([A-Za-z_][\w-]*)"', path.read_text(encoding="utf-8")))
    names.discard("csrf_token")
    return sorted(names) or ["text"]


def form_values():
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(["", "0", "-1", "99999999999999999999", str(10**23), str(2**31), "1e999", "admin", "viewer",
                         "harbor-city", "<b>x</b>", "x" * 5000, "\x00", "\u200b", "\u202e"]),
        st.binary(max_size=300).map(lambda b: (io.BytesIO(b), "upload.csv")),
    )


def test_random_forms_get_clear_errors_and_change_nothing(app, database, accounts, world):
    clients = SignedInClients(app, accounts)
    snapshot = Snapshot(database)
    pristine = dump_tables(database.engine)
    fields = form_field_names()
    problems = []
    routes = [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
        if rule.endpoint not in ("auth.logout",)
    ]
    try:
        for rule, method in routes:
            url = build_url(rule, world.values)

            @settings(max_examples=FORM_EXAMPLES, **FUZZ_SETTINGS)
            @given(form=st.dictionaries(st.sampled_from(fields) | st.text(max_size=10), form_values(), max_size=6))
            def post(form):
                snapshot.restore()
                try:
                    response = clients.client(Role.ADMIN).open(url, method=method, data=form)
                except Exception as exc:
                    problems.append(f"{method} {url} {sorted(form)}: raised {type(exc).__name__}: {exc}")
                    return
                status = response.status_code
                if status >= 500:
                    problems.append(f"{method} {url} {sorted(form)}: server error {status}")
                elif status >= 400:
                    if dump_tables(database.engine) != pristine:
                        problems.append(f"{method} {url} {sorted(form)}: answered {status} but changed the database")
                    body = response.get_data(as_text=True)
                    if response.is_json:
                        clear = bool((response.get_json(silent=True) or {}).get("error"))
                    else:
                        clear = 'role="alert"' in body or "error" in body.lower()
                    if not clear:
                        problems.append(f"{method} {url} {sorted(form)}: {status} without a message")

            post()
    finally:
        snapshot.close()
    assert routes, "no forms found"
    assert problems == [], "\n".join(problems[:40])


@pytest.mark.parametrize("value", [0, 2**31 - 1, 2**31, 2**63, 10**23, 10**100])
def test_ids_across_the_integer_range_in_every_url_are_never_a_server_error(app, accounts, world, value):
    """Every route with a number in its path, called with that number: 404 (or a clear 4xx), never a 500."""
    from werkzeug.routing import IntegerConverter

    clients = SignedInClients(app, accounts)
    problems = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        numbers = [n for n in rule.arguments if isinstance(rule._converters.get(n), IntegerConverter)]
        if not numbers:
            continue
        url = build_url(rule, {**world.values, **{n: value for n in numbers}})
        for method in sorted(rule.methods & {"GET", "POST"}):
            response = clients.client(Role.ADMIN).open(url, method=method)
            if response.status_code >= 500:
                problems.append(f"{method} {url}: {response.status_code}")
    assert problems == [], "\n".join(problems)
