"""The kinds of user error Roundtable reports.

Each is turned into one clear message at the edge: one line and exit status 2
on the command line, a message on the page, an ``error`` event on a socket.
Messages never contain raw note text or names.
"""


class RoundtableError(Exception):
    """Base class for errors caused by user input or configuration."""

    http_status = 400


class ValidationError(RoundtableError):
    """Input that does not have the expected shape (a bad file line, a bad field)."""


class NotFound(RoundtableError):
    """A series, session, note or theme that does not exist."""

    http_status = 404


class Conflict(RoundtableError):
    """A change based on stale data (an edit of an old note version)."""

    http_status = 409


class Forbidden(RoundtableError):
    """The account may not do this in this series."""

    http_status = 403


class SessionClosed(RoundtableError):
    """A write to a session that is not live."""

    http_status = 409


class ExportBlocked(RoundtableError):
    """The export gate found identities in text about to be written."""

    http_status = 422

    def __init__(self, findings):
        self.findings = findings
        places = "; ".join(f"{f}" for f in findings)
        super().__init__(f"export blocked: identifying text found at {places}")


class AnonymizationUnavailable(RoundtableError):
    """A detector of the floor (roster names, contact details) cannot run: nothing may be written."""

    http_status = 503


class PluginError(RoundtableError):
    """A plugin could not be loaded or misbehaved."""


class RateLimited(RoundtableError):
    """Too many requests from one account in a short time."""

    http_status = 429

    def __init__(self, message: str, retry_after: int = 1):
        self.retry_after = retry_after
        super().__init__(message)
