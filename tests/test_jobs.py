"""Slow work off the request path (roundtable/jobs.py): what a page polling a job can rely on."""

from __future__ import annotations

import threading

import pytest

from roundtable.errors import Conflict, ValidationError
from roundtable.jobs import Job, JobRunner, later


def test_a_job_reports_progress_while_it_runs_and_its_result_when_done():
    runner, step_taken, go_on = JobRunner(), threading.Event(), threading.Event()

    def work(job):
        job.step, job.done = "rendering", 1
        step_taken.set()
        go_on.wait(5)
        return b"%PDF"

    job = runner.start(Job(kind="export", total=3), work)
    assert step_taken.wait(5)
    assert (job.state, job.step, job.done, job.total) == ("running", "rendering", 1, 3)
    go_on.set()
    assert job.wait(5)
    assert (job.state, job.done, job.result) == ("done", 3, b"%PDF")
    assert runner.get(job.id) is job


def test_one_job_per_key_at_a_time_and_cancel_ends_it_cancelled():
    runner, started = JobRunner(), threading.Event()

    def work(job):
        started.set()
        job.cancel_event.wait(5)

    first = runner.start(Job(), work, key=("draft", 1), busy="already drafting")
    assert started.wait(5)
    with pytest.raises(Conflict, match="already drafting"):
        runner.start(Job(), work, key=("draft", 1), busy="already drafting")
    other = runner.start(Job(), lambda job: None, key=("draft", 2))  # another series is not blocked
    first.cancel()
    assert first.wait(5) and other.wait(5)
    assert first.state == "cancelled" and runner.latest(("draft", 1)) is first
    again = runner.start(Job(), lambda job: "ok", key=("draft", 1))
    assert again.wait(5) and again.result == "ok"


def test_a_failing_job_ends_with_a_message_never_stays_running():
    runner = JobRunner()

    def user_error(job):
        raise ValidationError("the brief is empty")

    def bug(job):
        raise KeyError("internal detail")

    refused = runner.start(Job(), user_error)
    crashed = runner.start(Job(), bug, failure="the export failed; see the server log")
    assert refused.wait(5) and crashed.wait(5)
    assert (refused.state, refused.message) == ("failed", "the brief is empty")
    assert isinstance(refused.error, ValidationError)
    assert (crashed.state, crashed.message) == ("failed", "the export failed; see the server log")


def test_a_forgotten_job_is_gone():
    runner = JobRunner()
    job = runner.start(Job(), lambda job: None, key="k")
    assert job.wait(5)
    runner.forget(job.id)
    assert runner.get(job.id) is None and runner.latest("k") is None


def test_later_runs_once_after_the_delay():
    ran = threading.Event()
    later(0.05, ran.set)
    assert ran.wait(5)


def test_two_apps_do_not_see_each_others_jobs(app, tmp_path, database_url):
    from roundtable import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "another-secret", "DATABASE_URL": database_url,
                        "INSTANCE_PATH": str(tmp_path / "other")})
    mine = app.extensions["roundtable"].jobs
    job = mine.start(Job(), lambda job: None, key="export")
    assert job.wait(5)
    assert other.extensions["roundtable"].jobs is not mine
    assert other.extensions["roundtable"].jobs.get(job.id) is None
    other.extensions["roundtable"].database.dispose()
