"""The web layer: one blueprint per feature, routes and socket events side by side.

``create_app`` registers the blueprints; :func:`init_web` adds what spans them
(error pages, security headers, the audit hook, socket revocation, the live
socket events).
"""

from __future__ import annotations

from flask import Flask

from roundtable.plurals import count_of
from roundtable.services.anonymize import floor_missing, unknown_name_detection_off
from roundtable.web import authorization, errors, live, revocation


def init_web(app: Flask) -> None:
    """Error pages, the ``counted`` filter, security headers, audit, revocation and the live socket events
    (not the blueprints)."""
    errors.init_app(app)
    app.add_template_filter(count_of, "counted")  # {{ n|counted("person") }}: "1 person", "3 people"

    @app.context_processor
    def _detection_notice():
        """Why unknown names are not detected (a missing model), and why notes are refused (a missing
        floor detector), for the notices on note pages."""
        return {"detection_off": unknown_name_detection_off(app.extensions["roundtable"]),
                "floor_missing": floor_missing()}

    authorization.init_app(app)
    revocation.init_app(app)
    live.init_app(app)
