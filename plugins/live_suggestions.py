"""Theme suggestions for notes as they are saved, off the live path, with whichever suggester is configured."""

from roundtable import hookimpl
from roundtable.services.suggestion_floor import refresh_floor
from roundtable.services.tagging import default_suggester_name, suggest_for_saved_note


@hookimpl
def note_saved(roundtable, note_id, series_id):
    """Suggest themes for a saved note and store them as ``suggested`` tags.

    Uses the app's ``SUGGESTER`` setting, else ``ROUNDTABLE_SUGGESTER``, else
    ``semantic`` when installed and ``lexical`` otherwise; test apps default to
    ``lexical`` so that test runs load no model. First the series' chip floor for
    that suggester is computed again if its coding moved enough (in its own
    transaction: the series row is not held while suggestions are stored), unless
    an operator fixed ``SUGGESTION_FLOOR``.
    """
    settings = roundtable.settings
    name = settings.get("SUGGESTER") or ("lexical" if settings.get("TESTING") else None)
    name = name or default_suggester_name(roundtable)
    if settings.get("SUGGESTION_FLOOR") is None:
        with roundtable.database.session() as db:
            refresh_floor(db, series_id, name, roundtable=roundtable)
    with roundtable.database.session() as db:
        suggest_for_saved_note(db, note_id, series_id, suggester_name=name, roundtable=roundtable)
