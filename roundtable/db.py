"""Database engine, sessions and migrations, and the session of each request.

One :class:`Database` per app (``app.extensions["roundtable"].database``); services
receive a SQLAlchemy ``Session`` from it and never open their own. In a request
or socket event, :func:`get_db` gives that context's session and :func:`init_app`
closes it when the context ends (as in the Flask tutorial's ``db.py``). SQLite is
tuned for many readers and one writer (WAL, busy timeout, foreign keys).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from roundtable.encryption import attach_key

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, pool_size: int = 10, pool_timeout: float = 30) -> Engine:
    """An engine that never puts statement parameters in its errors or logs: they can hold
    note text before anonymization or a roster value, and errors end up in the server log.

    ``pool_size`` connections stay open, twice as many more may open under load; socket events
    take turns so that at most ``pool_size`` of them use one (roundtable.web.authorization.socket_turn).
    """
    url = normalize_url(url)
    pool = {"pool_size": pool_size, "max_overflow": 2 * pool_size, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True,
                               **({} if url in ("sqlite://", "sqlite:///:memory:") else pool))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted rows are overwritten with zeros, not left in free pages (purges, deleted notes).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    engine = create_engine(url, hide_parameters=True, **pool)
    _ping_when_idle(engine)
    return engine


# A pooled connection idle for longer than this is pinged before use (one ``SELECT 1``).
PING_AFTER_IDLE_S = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only if it sat idle for a while: SQLAlchemy's ``pool_pre_ping``
    pings on every checkout, one more round trip for each socket event, and under gevent each round trip
    waits behind the process's fan-out (docs/performance.md, issue 17 sixth round). A connection that
    PostgreSQL ended while idle (a restart, an idle timeout) is replaced before use; one that breaks while
    in use fails its event, and SQLAlchemy then discards every older connection of the pool (its
    "optimistic" disconnect handling), so the page's outbox sends the note again to fresh connections."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at <= PING_AFTER_IDLE_S:
            return  # new, or used moments ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled connection was closed while idle") from exc  # the pool reconnects


class Database:
    """Owns the engine and hands out sessions."""

    def __init__(self, url: str, *, secret_key: str, pool_size: int = 10, pool_timeout: float = 30):
        if not secret_key:
            # No constant fallback: a key anyone can read would protect no roster.
            raise ValueError("a Database needs the installation's secret key: the roster is encrypted with it")
        self.url = normalize_url(url)
        self.pool_size = pool_size
        self.engine = make_engine(url, pool_size, pool_timeout)
        # The key for encrypted roster columns travels with the engine's dialect.
        attach_key(self.engine, secret_key)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self):
        """A session that commits on success and rolls back on any error."""
        db = self.sessionmaker()
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def erase_deleted(self) -> None:
        """After a purge: leave no copy of deleted rows in the SQLite file or its write-ahead log.

        ``secure_delete`` already zeroes deleted cells; ``VACUUM`` rewrites the file without free
        pages, and a ``TRUNCATE`` checkpoint empties the WAL, which still held the pages as they were.
        PostgreSQL keeps dead rows until ``VACUUM`` (docs/security.md): nothing is done here for it.
        """
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def upgrade(self) -> None:
        """Run the Alembic migrations up to head."""
        upgrade_database(self.engine)

    def is_initialized(self) -> bool:
        return inspect(self.engine).has_table("alembic_version")

    def dispose(self) -> None:
        self.engine.dispose()


def get_db() -> Session:
    """The database session of this request or socket event, opened on first use."""
    if "db" not in g:
        g.db = current_app.extensions["roundtable"].database.sessionmaker()
    return g.db


def without_transaction(db: Session) -> None:
    """Let each of ``db``'s statements commit by itself (PostgreSQL's autocommit): no ``BEGIN`` and no
    ``ROLLBACK``, two round trips fewer, for an event that only reads before the one statement that writes
    (a live note without themes). Call it before the session's first statement. SQLite keeps its
    transaction: its note takes two statements (seq, then row) that must commit together."""
    if db.get_bind().dialect.name == "postgresql":
        db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def close_db(_exc: BaseException | None = None) -> None:
    """Close the session :func:`get_db` opened, if any (uncommitted changes are rolled back)."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    """Close each request's session when its context ends."""
    app.teardown_appcontext(close_db)


def alembic_config(engine: Engine | None = None):
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade_database(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")
