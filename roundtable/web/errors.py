"""Error pages and security headers."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from roundtable.errors import RoundtableError

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(RoundtableError)
    def _user_error(exc: RoundtableError):
        if _wants_json():
            return {"error": str(exc)}, exc.http_status
        return render_template("error.html", status=exc.http_status, message=str(exc)), exc.http_status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if _wants_json():
            return {"error": exc.description}, exc.code
        return render_template("error.html", status=exc.code, message=exc.description), exc.code

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            # Notes, names and briefs must not stay in a browser's or a proxy's cache after logout.
            response.headers["Cache-Control"] = "no-store"
        return response
