"""Access that ends at once on open sockets too.

Every HTTP request and every socket event checks the login (its generation,
:func:`roundtable.services.accounts.end_logins`) and the role again
(:mod:`roundtable.web.authorization`). A socket that only *listens* sends no event, so
it must be closed: each process remembers which of its sockets belong to which
account, and :func:`revoke_sockets` closes an account's sockets in every
process, here directly and in the others through a Redis channel when
``REDIS_URL`` is set (the Redis that already carries Socket.IO's messages
between processes). The page reloads on ``access:revoked`` and finds what the
account may still see: nothing, a viewer's page, or the login form.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app

log = logging.getLogger(__name__)


class AccountSockets:
    """This process's open sockets, by account."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_account: dict[int, set[str]] = {}
        self._account_of: dict[str, int] = {}

    def add(self, sid: str, account_id: int) -> None:
        with self._lock:
            self._by_account.setdefault(account_id, set()).add(sid)
            self._account_of[sid] = account_id

    def discard(self, sid: str) -> None:
        with self._lock:
            account_id = self._account_of.pop(sid, None)
            sids = self._by_account.get(account_id, set())
            sids.discard(sid)
            if not sids:
                self._by_account.pop(account_id, None)

    def holds(self, sid: str) -> bool:
        with self._lock:
            return sid in self._account_of

    def take(self, account_id: int) -> set[str]:
        with self._lock:
            sids = self._by_account.pop(account_id, set())
            for sid in sids:
                self._account_of.pop(sid, None)
            return sids


def _sockets(app: Flask) -> AccountSockets:
    return app.extensions["roundtable_account_sockets"]


def track_socket(sid: str, account_id: int) -> None:
    """Remember a connected socket (called on connect)."""
    _sockets(current_app).add(sid, account_id)


def socket_is_open(sid: str) -> bool:
    """False once the socket was closed, by its page or by :func:`revoke_sockets`."""
    return _sockets(current_app).holds(sid)


def forget_socket(sid: str) -> None:
    _sockets(current_app).discard(sid)


def revoke_sockets(account_id: int) -> None:
    """Close every open socket of ``account_id``, in every server process.

    Call it after committing the change that took access away (removal, role
    change, logout, password change), so that a socket reconnecting at once
    already meets the new state.
    """
    app = current_app._get_current_object()
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        import redis  # lazy: the redis extra, needed only when REDIS_URL is set

        # Every process listens on the channel, this one included.
        redis.Redis.from_url(redis_url).publish(_channel(app), str(account_id))
    else:
        close_sockets(app, account_id)


def close_sockets(app: Flask, account_id: int) -> None:
    """Close this process's sockets of ``account_id``, telling each page why first."""
    server = app.extensions["socketio"]
    for sid in _sockets(app).take(account_id):
        server.emit("access:revoked", {"reason": "your access to this series changed"}, to=sid)
        server.server.disconnect(sid, namespace="/")


def _channel(app: Flask) -> str:
    """Beside the installation's Socket.IO channel: another installation's revocations never reach us."""
    return app.config["REDIS_CHANNEL"] + ":revoke-sockets"


def _listen(app: Flask, redis_url: str) -> None:
    import redis  # lazy: the redis extra, needed only when REDIS_URL is set

    while True:
        try:
            pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(_channel(app))
            for message in pubsub.listen():
                close_sockets(app, int(message["data"]))
        except Exception:  # Redis restarting: listen again; events still check access meanwhile
            log.warning("socket revocation listener lost Redis; retrying", exc_info=True)
            time.sleep(1)


def init_app(app: Flask) -> None:
    app.extensions["roundtable_account_sockets"] = AccountSockets()
    if app.config.get("REDIS_URL"):
        threading.Thread(target=_listen, args=(app, app.config["REDIS_URL"]), daemon=True,
                         name="roundtable-revocation").start()
