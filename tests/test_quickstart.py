"""The Quickstart's first command works: demo data on SQLite, a server, a working login."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serve_starts_a_server_where_the_demo_facilitator_can_log_in(tmp_path):
    port = free_port()
    env = {**os.environ, "ROUNDTABLE_INSTANCE_PATH": str(tmp_path / "instance")}
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-c", "from roundtable.cli import main; main()", "demo", "--serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(base + "/auth/login", timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert (tmp_path / "instance" / "roundtable.sqlite").is_file()

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login_page = opener.open(base + "/auth/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
        form = urlencode({"email": "facilitator@demo.example", "password": "demo lantern harbor", "csrf_token": token})
        home = opener.open(base + "/auth/login", data=form.encode()).read().decode()
        assert "Sanctuary and Resistance 2026" in home
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
