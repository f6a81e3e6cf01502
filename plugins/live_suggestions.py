"""Theme suggestions for notes as they are saved, off the live path, with whichever suggester is configured."""

from roundtable import hookimpl


@hookimpl
def note_saved(note_id, series_id):
    """Suggest themes for a saved note and store them as ``suggested`` tags.

    Uses the app's ``SUGGESTER`` setting, else ``ROUNDTABLE_SUGGESTER``, else
    ``semantic`` when installed and ``lexical`` otherwise; test apps default to
    ``lexical`` so that test runs load no model. Outside an app it does nothing.
    """
    from flask import current_app, has_app_context

    from roundtable.services.tagging import suggest_for_saved_note

    if not has_app_context():
        return
    app = current_app
    name = app.config.get("SUGGESTER") or ("lexical" if app.testing else None)
    with app.extensions["roundtable_db"].session() as db:
        suggest_for_saved_note(db, note_id, series_id, suggester_name=name, pm=app.extensions["roundtable_pm"])
