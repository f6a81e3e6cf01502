"""Configuration: defaults, then the instance folder's ``config.py``, then the environment, then the test mapping."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULTS = {
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    "REDIS_URL": None,  # set to share Socket.IO events between processes
    "DISABLED_PLUGINS": [],
    "SUGGESTER": None,  # theme suggester for live notes: None = semantic when installed, else lexical
    "PLUGINS_DIR": None,
    "MAX_NOTE_LENGTH": 4000,
    # Suggested themes below this confidence are not shown on the live page.
    "SUGGESTION_FLOOR": 0.35,
    "MAX_UPLOAD_BYTES": 2 * 1024 * 1024,
    "NOTES_PER_SECOND_PER_ACCOUNT": 5,
    "INVITE_TTL_HOURS": 72,
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "SESSION_MAX_AGE_HOURS": 24,  # a login ends after this long, however active
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # set True behind HTTPS (docs/deployment.md)
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,
}

ENV_KEYS = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PLUGINS_DIR", "DISABLED_PLUGINS", "SESSION_COOKIE_SECURE")


def from_environment() -> dict:
    """Read ``ROUNDTABLE_*`` variables (``DATABASE_URL`` and ``REDIS_URL`` also bare)."""
    found = {}
    for key in ENV_KEYS:
        value = os.environ.get(f"ROUNDTABLE_{key}")
        if value is None and key in ("DATABASE_URL", "REDIS_URL"):
            value = os.environ.get(key)
        if value is None:
            continue
        if key == "DISABLED_PLUGINS":
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "SESSION_COOKIE_SECURE":
            value = value.lower() in ("1", "true", "yes")
        found[key] = value
    return found


def instance_secret_key(instance_path: str) -> str:
    """A secret key kept in the instance folder, created on first use."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
