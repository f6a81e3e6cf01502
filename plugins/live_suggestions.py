"""Theme suggestions for notes as they are saved, off the live path, with whichever suggester is configured."""

from roundtable import hookimpl
from roundtable.services.tagging import suggest_for_saved_note


@hookimpl
def note_saved(roundtable, note_id, series_id):
    """Suggest themes for a saved note and store them as ``suggested`` tags.

    Uses the app's ``SUGGESTER`` setting, else ``ROUNDTABLE_SUGGESTER``, else
    ``semantic`` when installed and ``lexical`` otherwise; test apps default to
    ``lexical`` so that test runs load no model.
    """
    settings = roundtable.settings
    name = settings.get("SUGGESTER") or ("lexical" if settings.get("TESTING") else None)
    with roundtable.database.session() as db:
        suggest_for_saved_note(db, note_id, series_id, suggester_name=name, roundtable=roundtable)
