"""A plain (non-editable) install carries everything: templates, static files, plugins, migrations, demo."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_works_on_its_own(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path / "dist")],
        check=True, capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("roundtable-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "roundtable/templates/base.html",
        "roundtable/static/css/app.css",
        "roundtable/migrations/versions/0001_initial_schema.py",
        "roundtable/demo/sanctuary-2026/series.yaml",
        "roundtable_plugins/roster.py",
    ):
        assert expected in names
    assert not any("__pycache__" in name for name in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import json, roundtable\n"
        "from roundtable import create_app\n"
        f"app = create_app({{'INSTANCE_PATH': {str(tmp_path / 'inst')!r}, 'SECRET_KEY': 'x'}})\n"
        "app.extensions['roundtable'].database.upgrade()\n"
        "page = app.test_client().get('/auth/login')\n"
        "css = app.test_client().get('/static/css/app.css')\n"
        "plugins = [n for n, p in app.extensions['roundtable'].pm.list_name_plugin() if p is not None]\n"
        "print(json.dumps([roundtable.__file__, page.status_code, css.status_code, plugins]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True,
    )
    module_file, page_status, css_status, plugins = json.loads(out.stdout.strip().splitlines()[-1])
    assert module_file.startswith(str(site))
    assert (page_status, css_status) == (200, 200)
    assert sorted(plugins) == sorted(set(plugins))  # each built-in once
    assert {"roster", "contact_details", "keyword_suggester", "exporters", "report_sections"} <= set(plugins)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a wheel, a venv and three cold processes: over the default 300 s at load 10
def test_installed_wheel_builds_a_pdf_brief(tmp_path):
    """`pip install .` as the deployment guide does, then the demo and a PDF report from the installed copy."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path / "dist")],
        check=True, capture_output=True,
    )
    wheel = next((tmp_path / "dist").glob("roundtable-*.whl"))
    venv = tmp_path / "venv"
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", "--system-site-packages", str(venv)], check=True, capture_output=True)
    # The dependencies where this interpreter finds them: a shared environment's site-packages that a worktree's
    # venv reaches through a .pth is not the base interpreter's (the demo failed on "No module named
    # 'sqlalchemy'"). Only that folder: never this checkout's own roundtable.
    import sqlalchemy

    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "dependencies.pth").write_text(f"{Path(sqlalchemy.__file__).resolve().parents[1]}\n")
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path),
           "ROUNDTABLE_DATABASE_URL": f"sqlite:///{tmp_path / 'rt.sqlite'}"}
    for args in (["demo"], ["brief", "build", "sanctuary-demo", "--format", "pdf", "-o", str(tmp_path / "r.pdf")],
                 ["brief", "build", "sanctuary-demo", "--format", "html", "-o", str(tmp_path / "r.html")]):
        done = subprocess.run([str(venv / "bin" / "roundtable"), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    # Laid out by the installed print stylesheet: 10 to 20 pages, and running heads (the contents and the section's
    # own heading name Key Themes twice; its running head, on the pages it goes on, more).
    pages = PdfReader(tmp_path / "r.pdf").pages
    assert 10 <= len(pages) <= 20 and sum("Key Themes" in page.extract_text() for page in pages) >= 3
    page = (tmp_path / "r.html").read_text()
    assert "@page" not in page and ".cover" in page  # the screen stylesheet came from the installed package
