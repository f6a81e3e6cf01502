"""The detectors: the floor no configuration removes (roster names, contact details), and the plugins' on top."""

from __future__ import annotations

import importlib
import weakref

from roundtable.errors import AnonymizationUnavailable, ValidationError


# --- detectors and plugin manager -----------------------------------------------------------

# The floor's detectors ship as built-in plugins. The core reaches them by name, as the plugin manager reaches
# every plugin, so that plugins import the core and never the other way round.
FLOOR_DETECTORS = (("roundtable_plugins.roster", "RosterDetector"), ("roundtable_plugins.contact_details", "PatternDetector"))

# Per application (weakly, so a discarded app's caches go away with it).
_detector_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def floor_detectors(case_blind: bool = False) -> list:
    """The detectors no configuration removes: roster names and contact details.

    They are the built-in ``roster`` and ``contact_details`` detectors, run whether
    or not their plugins are loaded; plugins add detectors on top. When one
    cannot be imported, :class:`AnonymizationUnavailable` says why, and notes,
    imports and exports are refused rather than written unchecked.
    """
    try:
        roster_detector, pattern_detector = (getattr(importlib.import_module(module), name)
                                             for module, name in FLOOR_DETECTORS)
    except Exception as exc:
        raise AnonymizationUnavailable(
            "anonymization is unavailable, so notes are refused: the built-in roster and contact detectors "
            f"failed to load ({type(exc).__name__}: {exc}); reinstall Roundtable"
        ) from None
    return [roster_detector(case_blind=case_blind), pattern_detector()]


def floor_missing() -> str | None:
    """Why the floor cannot run (``None`` when it can), for a notice on the note pages."""
    try:
        floor_detectors()
    except AnonymizationUnavailable as exc:
        return str(exc)
    return None


def registered_detectors(roundtable) -> list:
    """The floor, then every detector the application's plugins register through ``register_detectors``
    (newest plugin first), cached per application. A plugin's copy of a floor detector is not run twice."""
    detectors = _detector_cache.get(roundtable)
    if detectors is None:
        floor = floor_detectors()
        floor_types = tuple(type(d) for d in floor)
        detectors = floor + [d for d in roundtable.collect("register_detectors") if not isinstance(d, floor_types)]
        _detector_cache[roundtable] = detectors
    return detectors


def load_detectors(roundtable, ner: bool | None = None) -> list:
    """The detectors to run: the floor and every working plugin detector, or without the unknown-name model.

    ``ner=False`` leaves out the ``ner`` detector; ``ner=True`` requires that it
    works (a :class:`ValidationError` saying why otherwise); ``None`` uses it
    when it is installed.
    """
    detectors = registered_detectors(roundtable)
    if ner is False:
        return [d for d in detectors if getattr(d, "name", "") != "ner"]
    working = [d for d in detectors if _status(d) is None]
    if ner is True and not any(getattr(d, "name", "") == "ner" for d in working):
        reason = next((_status(d) for d in detectors if getattr(d, "name", "") == "ner"), None)
        raise ValidationError(reason or "unknown-name detection is off: install roundtable[ner]")
    return working


def _status(detector) -> str | None:
    status = getattr(detector, "status", None)
    return status() if callable(status) else None


def detector_statuses(roundtable) -> dict[str, str | None]:
    """Each registered detector's name and why it is off (``None`` when it works), for the UI."""
    return {getattr(d, "name", repr(d)): _status(d) for d in roundtable.collect("register_detectors")}


def unknown_name_detection_off(roundtable) -> str | None:
    """Why names of people not on the roster are not detected, or ``None`` when they are."""
    statuses = detector_statuses(roundtable)
    if "ner" not in statuses:
        return "unknown-name detection is off: the ner plugin is not loaded"
    return statuses["ner"]
