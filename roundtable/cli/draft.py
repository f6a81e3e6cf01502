"""``roundtable brief draft SERIES``: redraft a brief's prose with the series' language model."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from roundtable.application import current_roundtable
from roundtable.errors import ValidationError
from roundtable.services import drafting
from roundtable.services.briefs import TEMPLATES
from roundtable.services.briefs.context import _resolve_series


@click.command("draft")
@click.argument("series")
@click.option("--template", type=click.Choice(TEMPLATES), default="report", show_default=True)
@click.option("--model", default=None,
              help="First set the series' drafting model: an llm model id or the path of a .gguf file.")
@click.option("--off", is_flag=True, help="Switch machine drafting off for SERIES and stop.")
@with_appcontext
def draft_command(series, template, model, off):
    """Draft SERIES's bullets and summary sections with its model; Ctrl-C cancels.

    Only anonymized notes that pass the export gate are sent; drafted text that
    is not grounded in its notes is not used. A missing or slow model leaves
    the deterministic draft in place.
    """
    roundtable = current_roundtable()  # passed on: the job thread has no app context
    database = roundtable.database
    with database.session() as db:
        s = _resolve_series(db, series)
        if off or model:
            s.draft_model = None if off else model.strip()
        series_id, chosen = s.id, s.draft_model
    if off:
        click.echo("Machine drafting is off for this series.")
        return
    if not chosen:
        raise ValidationError(f"series {series!r} has no drafting model; name one with --model")
    try:
        click.echo(f"Model {chosen}: note text goes to {drafting.resolve_model(chosen).destination}.", err=True)
    except drafting.DraftingUnavailable:
        pass  # draft_series says why, as a message

    def show(job):
        click.echo(f"[{job.done}/{job.total}] {job.state}{': ' + job.step if job.step else ''}", err=True)

    job = drafting.start_job(roundtable, series_id, template, progress=show)
    while True:
        try:
            if job.wait(0.2):
                break
        except KeyboardInterrupt:
            click.echo("Cancelling after the current text...", err=True)
            job.cancel()
    if job.error is not None:  # this thread owns the error message
        raise job.error
    summary = job.as_dict()
    click.echo(f"{job.state}: {job.message} ({summary['seconds']} s, {job.tokens} tokens, "
               f"{summary['tokens_per_second']} tokens/s)")
