"""The web layer: one blueprint per feature, routes and socket events side by side."""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    """Register the built-in blueprints, security headers and error pages."""
    from roundtable.web import access, briefs, codebook, errors, home, live, revocation, series

    errors.init_app(app)

    @app.context_processor
    def _detection_notice():
        """Why unknown names are not detected (a missing model), and why notes are refused (a missing
        floor detector), for the notices on note pages."""
        from roundtable.services.anonymize import floor_missing, unknown_name_detection_off

        return {"detection_off": unknown_name_detection_off(app.extensions["roundtable"]),
                "floor_missing": floor_missing()}

    access.init_app(app)
    revocation.init_app(app)
    app.register_blueprint(home.bp)
    app.register_blueprint(series.bp)
    app.register_blueprint(briefs.bp)
    app.register_blueprint(codebook.bp)
    live.init_app(app)
