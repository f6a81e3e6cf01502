"""Rate-limit keys: per account when logged in, so note-takers sharing a venue's network are not throttled together."""

from flask import request, session
from flask_limiter.util import get_remote_address


def rate_limit_key() -> str:
    account_id = session.get("account_id")
    if account_id:
        return f"account:{account_id}"
    return f"ip:{get_remote_address() or request.remote_addr or 'unknown'}"
