"""Playwright's sync Chromium (Debian's /usr/bin/chromium) against pytest-django's live server.

Every request a page makes is recorded; a request to any host but the live server fails the test
(pages load nothing from third parties), and it is aborted so it never leaves the machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.world import World, build_world

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
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
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Chromium for one test module.

    Playwright's sync API keeps an event loop running in this thread, inside which Django's ORM refuses
    to run; DJANGO_ALLOW_ASYNC_UNSAFE allows it while the browser is open, and only then (a later
    test or subprocess must not inherit it: `check --deploy` rejects it).
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        # CI installs Chromium (.ci/run): there a missing browser is a failure, never a quiet skip.
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"Chromium is not installed at {CHROMIUM}")
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


@pytest.fixture
def world(transactional_db) -> World:
    """The known world, committed so the live server's thread sees it."""
    return build_world()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh desktop-sized page; fails the test if anything is requested from another host."""
    allowed = urlsplit(live_server.url).netloc
    requested: list[str] = []
    foreign: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != allowed:
            foreign.append(url)
            route.abort()
        else:
            route.continue_()

    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.route("**/*", guard)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
    assert requested, "the page made no requests at all"
    if foreign:
        pytest.fail("requests to hosts other than the live server: " + ", ".join(sorted(set(foreign))))


@pytest.fixture
def screenshot():
    """Save a full-page screenshot at desktop and phone width to test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> list[Path]:
        paths = []
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            path = ARTIFACTS / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
        page.set_viewport_size(DESKTOP)
        return paths

    return take
