"""The application factory."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from roundtable import config as rt_config
from roundtable import db as rt_db
from roundtable.application import Roundtable
from roundtable.extensions import csrf, limiter, socketio
from roundtable.models import MAX_DATABASE_ID
from roundtable.web import admin, auth, briefs, codebook, home, init_web, live, series


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` limited to what an id or number column holds (SQLite and PostgreSQL ``integer``)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def package_dir(name: str) -> str:
    """Where ``templates`` or ``static`` live: inside the wheel, or at the top of a source checkout."""
    spec = importlib.util.find_spec(f"roundtable.{name}")
    if spec is not None and spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return str(Path(__file__).resolve().parent.parent / name)


def create_app(config: dict | None = None, plugins=None) -> Flask:
    """Build the app. ``config`` overrides everything else (tests pass a mapping);
    ``plugins``, when given, replace the default plugins (see :class:`Roundtable`)."""
    app = Flask(
        "roundtable",
        instance_relative_config=True,
        instance_path=(config or {}).get("INSTANCE_PATH") or os.environ.get("ROUNDTABLE_INSTANCE_PATH"),
        template_folder=package_dir("templates"),
        static_folder=package_dir("static"),
    )
    # Ids in URLs are database integers: a larger number is simply not found (never a 500).
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_mapping(rt_config.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_mapping(rt_config.from_environment())
    if config:
        app.config.from_mapping(config)
    rt_config.check_name_veto(app.config["NAME_VETO"])
    rt_config.check_suggestion_floor(app.config["SUGGESTION_FLOOR"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = rt_config.instance_secret_key(app.instance_path)
        app.config["SECRET_KEY_FILE"] = str(rt_config.secret_key_path(app.instance_path))
    if not app.config.get("KEY_ROTATION"):  # only `roundtable rotate-key` may run with a published key
        rt_config.refuse_public_key(app.config["SECRET_KEY"])
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "roundtable.sqlite")
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"]
    app.permanent_session_lifetime = app.config["PERMANENT_SESSION_LIFETIME"]

    roundtable = app.extensions["roundtable"] = Roundtable(app.config, plugins=plugins)

    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        # Several processes must share one budget per account.
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    csrf.init_app(app)
    limiter.init_app(app)
    # Flask-SocketIO keeps a previous app's message queue in its options; start clean.
    socketio.server_options.pop("client_manager", None)
    app.config["REDIS_CHANNEL"] = app.config.get("REDIS_CHANNEL") or rt_config.redis_channel(app.config["SECRET_KEY"])
    socketio.init_app(
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE", "threading"),
        message_queue=app.config.get("REDIS_URL"),
        channel=app.config["REDIS_CHANNEL"],
        logger=False,
        engineio_logger=False,
        # None = same origin only; an empty list would switch the Origin check off.
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ORIGINS") or None,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    init_web(app)
    # Every blueprint is registered here: the built-in features', then the plugins'.
    for blueprint in (auth.bp, admin.bp, home.bp, series.bp, briefs.bp, codebook.bp, live.bp,
                      *roundtable.collect("register_blueprints")):
        app.register_blueprint(blueprint)
    rt_db.init_app(app)

    return app

