"""Flask extensions, created here and bound to the app in ``create_app``."""

from flask_limiter import Limiter
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from roundtable.web.ratelimit import rate_limit_key

socketio = SocketIO()
csrf = CSRFProtect()
limiter = Limiter(key_func=rate_limit_key, default_limits=[])
