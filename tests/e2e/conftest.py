"""A real server (uvicorn in a subprocess, on a free port) and a real headless Chromium (Debian's)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import SECRET, clone_database, drop_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 800, "height": 1280}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, database_url: str, media_dir: Path):
        self.url = url
        self.database_url = database_url
        self.media_dir = media_dir


@pytest.fixture
def live_server(template_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    database_url = clone_database(template_url, tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "ONBOARD_DATABASE_URL": database_url,
        "ONBOARD_SECRET_KEY": SECRET,
        "ONBOARD_MEDIA_DIR": str(tmp_path / "media"),
        "ONBOARD_LOG_REQUESTS": "0",
        "PORT": str(port),
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "server.log").read_text())
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield LiveServer(url, database_url, tmp_path / "media")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        drop_database(database_url)


class ClockedBrowser:
    """Chromium whose pages read the clock the tests and the server run on.

    When that clock is set apart from the machine's (the suite run at 00:02 on the first of a month
    with libfaketime, which Chromium does not follow), a tablet would stamp its visits and stages
    days ahead of the server and be refused as "in the future". Then every new context starts its
    pages' clock at the process's time (Playwright's clock, flowing naturally from there);
    otherwise nothing is changed."""

    def __init__(self, browser: Browser, skew: float):
        self._browser = browser
        self.skewed = abs(skew) > 60

    def __getattr__(self, name: str):
        return getattr(self._browser, name)

    def clocked(self, context: BrowserContext) -> BrowserContext:
        if self.skewed:
            context.clock.install(time=datetime.now(UTC))
        return context

    def new_context(self, **options) -> BrowserContext:
        return self.clocked(self._browser.new_context(**options))

    def new_page(self, **options) -> Page:
        page = self._browser.new_page(**options)
        self.clocked(page.context)
        return page


@pytest.fixture(scope="session")
def browser() -> Iterator[ClockedBrowser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        probe = browser.new_page()
        skew = time.time() - probe.evaluate("Date.now()") / 1000
        probe.close()
        yield ClockedBrowser(browser, skew)
        browser.close()


def sign_in(
    page, server, username: str, password: str = "demo-password", next_path: str | None = None
) -> None:
    """Sign in on the login page (of any running server: anything with a `url`)."""
    page.goto(f"{server.url}/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
