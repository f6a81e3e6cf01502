"""Configuration: defaults, then the instance folder's ``config.py``, then the environment, then the test mapping."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from roundtable.errors import RoundtableError

DEFAULTS = {
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    # Connections each process keeps open to the database (twice as many more may open under load), and how
    # many socket events work at the database at once (roundtable.web.authorization.socket_turn).
    "DATABASE_POOL_SIZE": 10,
    "DATABASE_POOL_TIMEOUT": 30,  # seconds a request waits for a free connection before it fails
    "REDIS_URL": None,  # set to share Socket.IO events between processes
    "REDIS_CHANNEL": None,  # default: derived from SECRET_KEY, so installations sharing a Redis stay apart
    "DISABLED_PLUGINS": [],
    # Where the medium name model's veto (roundtable[ner-md]) runs: "everywhere" it is installed, or "batch":
    # not in a process that serves the web app (about 250 MB less each; the live path then keeps fewer words).
    "NAME_VETO": "everywhere",
    "SERVES_WEB": False,  # set by `roundtable serve` and roundtable.wsgi for the process that serves the web app
    "SUGGESTER": None,  # theme suggester for live notes: None = semantic when installed, else lexical
    "PLUGINS_DIR": None,
    "MAX_NOTE_LENGTH": 4000,
    # An operator's fixed floor for the live suggestion chips (0..1), for every series and suggester. None: each
    # series' own floor per suggester, computed from its coded notes (roundtable.services.suggestion_floor).
    "SUGGESTION_FLOOR": None,
    # How long the live page waits for the server to acknowledge a note before it retries it.
    "LIVE_ACK_TIMEOUT_MS": 10000,
    "MAX_UPLOAD_BYTES": 2 * 1024 * 1024,
    "NOTES_PER_SECOND_PER_ACCOUNT": 5,
    "TAGS_PER_SECOND_PER_ACCOUNT": 10,  # tag:add/remove/accept/reject, together
    # The composer asks for a preview after a pause in typing (about 2 per second at most); each runs the name model.
    "PREVIEWS_PER_SECOND_PER_ACCOUNT": 4,
    "EXPORT_RATE_LIMIT": "10 per minute",  # brief exports and export jobs, per account (each may render a PDF)
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

ENV_KEYS = ("DATABASE_URL", "DATABASE_POOL_SIZE", "DATABASE_POOL_TIMEOUT", "REDIS_URL", "SECRET_KEY", "PLUGINS_DIR",
            "DISABLED_PLUGINS", "SESSION_COOKIE_SECURE", "NAME_VETO", "SUGGESTION_FLOOR")


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
        elif key in ("DATABASE_POOL_SIZE", "DATABASE_POOL_TIMEOUT"):
            value = _whole_number(f"ROUNDTABLE_{key}", value)
        elif key == "SUGGESTION_FLOOR":
            value = _fraction(f"ROUNDTABLE_{key}", value)
        found[key] = value
    return found


NAME_VETO_CHOICES = ("everywhere", "batch")


def check_name_veto(value) -> None:
    """Refuse a ``NAME_VETO`` that is not one of :data:`NAME_VETO_CHOICES` (a typo must not silently decide)."""
    if value not in NAME_VETO_CHOICES:
        raise RoundtableError(f"ROUNDTABLE_NAME_VETO must be everywhere or batch, not {value!r}")


def medium_veto_here(settings) -> bool:
    """Whether this process runs the medium model's veto: everywhere, or with "batch" only outside the web server."""
    return settings.get("NAME_VETO", "everywhere") == "everywhere" or not settings.get("SERVES_WEB")


def check_suggestion_floor(value) -> None:
    """Refuse a fixed ``SUGGESTION_FLOOR`` that is not a number from 0 to 1 (None: each series' own floor)."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1):
        raise RoundtableError(f"SUGGESTION_FLOOR must be a number from 0 to 1, or None, not {value!r}")


def _fraction(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:
        raise RoundtableError(f"{name} must be a number from 0 to 1, not {value!r}")
    return number


def _whole_number(name: str, value: str) -> int:
    if not value.strip().isascii() or not value.strip().isdigit() or not 1 <= int(value) <= 1000:
        raise RoundtableError(f"{name} must be a whole number from 1 to 1000, not {value!r}")
    return int(value)


# SHA-256 fingerprints of secret keys anyone can read: the one committed as instance/secret_key
# until 2026-11-30 (it stays in the repository's history). Add any key that leaks.
PUBLIC_KEY_FINGERPRINTS = frozenset({"1ac81a898cba31f789543c2ae1ee3dd523683cf69b12c80e2ad7cd2dda34f0bc"})


class PublicSecretKey(RoundtableError):
    """The configured secret key is known to the world: it protects neither logins nor the roster."""


def redis_channel(secret_key: str) -> str:
    """This installation's Redis channel: its processes share the secret key, other installations do not.

    Rooms are named by session id, so two installations on one Redis would otherwise deliver each
    other's notes (and revoke each other's sockets).
    """
    return "roundtable-" + hashlib.sha256(b"redis-channel:" + secret_key.encode()).hexdigest()[:16]


def refuse_public_key(key: str) -> None:
    """Raise :class:`PublicSecretKey` for a key whose fingerprint is in :data:`PUBLIC_KEY_FINGERPRINTS`."""
    if hashlib.sha256(key.strip().encode()).hexdigest() in PUBLIC_KEY_FINGERPRINTS:
        raise PublicSecretKey(
            "the secret key is one published in Roundtable's repository: anyone could forge a login or decrypt "
            "the roster; run `roundtable rotate-key` to replace it and re-encrypt the roster (docs/security.md)"
        )


def secret_key_path(instance_path: str) -> Path:
    return Path(instance_path) / "secret_key"


def write_secret_key(path: Path, key: str) -> None:
    """Write ``key`` readable by its owner only (created with that mode, never briefly open to others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    path.chmod(0o600)


def instance_secret_key(instance_path: str) -> str:
    """This installation's secret key, kept in the instance folder and generated on first use."""
    path = secret_key_path(instance_path)
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    write_secret_key(path, key)
    return key
