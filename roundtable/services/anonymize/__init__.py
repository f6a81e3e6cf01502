"""The anonymization pipeline: no identity reaches storage, the stream, or a download.

Read it in this order:

- :mod:`.normalize` — the text as a reader reads it: one *matching form* every
  detector sees (look-alike letters, invisible characters, markup and entities
  undone), mapped back to the original. What is stored of typed text (NFC, no
  invisible characters) is :mod:`roundtable.services.typed_text`'s.
- :mod:`.spans` — what detectors return (:class:`Span` and its kinds), folding,
  and merging overlaps.
- :mod:`.roster` — the people of a series (the only place real names live) and
  the roster file.
- :mod:`.floor` — the detectors: the floor no configuration removes (roster
  names, contact details) and the plugins' detectors on top.
- :mod:`.policies` — what a found identity becomes: a role, a pseudonym, a
  bracketed kind.
- :mod:`.pipeline` — :class:`Anonymizer`: detectors on the matching form,
  spans mapped back, merged, replaced under the policy.
- :mod:`.kept_terms` — words a note-taker marked as not a person, and what may
  never be kept.
- :mod:`.gate` — the export gate, judging what the reader of a download sees.
- :mod:`.series` — a series' cached anonymizer, and text authored outside the
  note stream (titles, themes, drafts).
- :mod:`.name_memory` — a session's memory of the names found in it, as keyed
  digests, so a later note's lone surname is found too.

An :class:`Anonymizer` is built once per series (its roster regexes are
compiled once) and is cheap to call on every note. Nothing here stores a raw
name: pseudonyms are derived from roster order and a keyed hash, and error
messages carry kinds and positions only.
"""

from roundtable.services.anonymize.floor import (
    detector_statuses,
    floor_detectors,
    floor_missing,
    load_detectors,
    registered_detectors,
    unknown_name_detection_off,
)
from roundtable.services.anonymize.gate import (
    GateFinding,
    download_filename,
    export_findings,
    export_gate,
    gate_series_export,
    gated_spans,
    strings_in,
    visible_text,
    xml_strings,
)
from roundtable.services.anonymize.kept_terms import (
    KEEPABLE,
    forget_kept_term,
    keep_term,
    kept_term_refusal,
    kept_terms_of,
    kept_terms_pattern,
)
from roundtable.services.anonymize.normalize import fold_for_matching, matching_text
from roundtable.services.anonymize.pipeline import AnonymizedText, Anonymizer, detect_spans
from roundtable.services.anonymize.policies import GENERIC_ROLES, POLICIES, affiliation_label, with_article
from roundtable.services.anonymize.roster import (
    Roster,
    RosterEntry,
    load_roster_csv,
    roster_and_kept_terms,
)
from roundtable.services.anonymize.series import (
    anonymize_authored_text,
    anonymize_draft,
    anonymizer_and_memory,
    anonymizer_for_series,
    authored_line,
    authored_text_anonymizer,
)
from roundtable.services.anonymize.spans import (
    AFFILIATION,
    EMAIL,
    HANDLE,
    NAME,
    PERSON,
    PHONE,
    URL,
    Span,
    fold,
    merge_spans,
)

__all__ = [
    "AFFILIATION", "EMAIL", "GENERIC_ROLES", "HANDLE", "KEEPABLE", "NAME", "PERSON", "PHONE", "POLICIES", "URL",
    "AnonymizedText", "Anonymizer", "GateFinding", "Roster", "RosterEntry", "Span",
    "affiliation_label", "anonymize_authored_text", "anonymize_draft",
    "anonymizer_and_memory", "anonymizer_for_series", "authored_line", "authored_text_anonymizer", "detect_spans", "detector_statuses", "download_filename", "export_findings",
    "export_gate", "floor_detectors", "floor_missing", "fold", "fold_for_matching", "forget_kept_term",
    "gate_series_export", "gated_spans", "keep_term", "kept_term_refusal", "kept_terms_of", "kept_terms_pattern",
    "load_detectors", "load_roster_csv", "matching_text", "merge_spans", "registered_detectors",
    "roster_and_kept_terms", "strings_in", "unknown_name_detection_off", "visible_text",
    "with_article", "xml_strings",
]
