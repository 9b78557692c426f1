"""Fixtures for the app's end-to-end tests: the real ``python app.py`` on a free port, a gradio client,
and headless Chromium (Debian's package, never a downloaded build). Import the fixtures you use."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 90.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout_s: float = STARTUP_TIMEOUT_S) -> float:
    """Poll ``url`` until it answers 200; seconds waited. Fails fast if the process dies (bounded wait)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with status {process.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)  # not ready yet: poll again
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


class RunningApp:
    """``python app.py`` in a subprocess; its output goes to ``log_path``."""

    def __init__(self, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_dir / "app.log"
        environment = {**os.environ, "GRADIO_SERVER_PORT": str(self.port), "GRADIO_ANALYTICS_ENABLED": "False",
                       "PYTHONUNBUFFERED": "1", **(env or {})}
        environment.pop("GRADIO_SERVER_NAME", None)  # the app's own default (127.0.0.1) is under test
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=environment,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.startup_s = wait_until_serving(self.url, self.process)
        except BaseException:
            self.close()
            raise

    def log(self) -> str:
        return self.log_path.read_text()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[RunningApp]:
    app = RunningApp(tmp_path_factory.mktemp("app"))
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory):
    from gradio_client import Client

    c = Client(app_server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, app_server, tmp_path):
    """A fresh browser session (so a fresh design set) on the app; saves a screenshot when done."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    pg.goto(app_server.url)
    try:
        yield pg
    finally:
        pg.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
        context.close()
