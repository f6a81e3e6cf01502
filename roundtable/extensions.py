"""Flask extensions, created here and bound to the app in ``create_app``."""

from flask import request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect


def rate_limit_key() -> str:
    """Per account when logged in, so note-takers sharing a venue's network are not throttled together."""
    account_id = session.get("account_id")
    if account_id:
        return f"account:{account_id}"
    return f"ip:{get_remote_address() or request.remote_addr or 'unknown'}"


socketio = SocketIO()
csrf = CSRFProtect()
limiter = Limiter(key_func=rate_limit_key, default_limits=[])
