"""The section mastery grid's keyboard script (mastery/static/mastery/grid_keys.js) on a full grid, timed in
Chromium: 35 students × 200 competencies, 7,000 cell links and 35 name links.

Builds (or reuses) bench/grid.py's section in its scratch database, renders the grid page through Django's test
client and opens it in headless Chromium (/usr/bin/chromium), the page and its static files served from memory
and disk by request interception (no server, nothing leaves the machine). Then, in the page (performance.now()):

- the set-up, --repeat times: a table fresh from the server's markup swapped in and laid out, then announced
  with htmx:load as after an htmx swap (the pass over the 7,035 links and two listeners); alone, and with the
  style and layout the browser does again after it (forced at once); beside it, what laying out the fresh table
  itself took;
- a key press: keydown events dispatched on the focused cell (ArrowRight, ArrowDown, End, Home, PageDown,
  Ctrl+End, Ctrl+Home), each to the focus landing on the next cell;

and it checks, with real key presses from the grid's last cell to the first of its row, that a cell reached with
the arrow keys is never left under the student names (sticky, while the cells scroll under them).

    .venv/bin/python bench/grid_keys.py [--database-url URL] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
import grid as grid_bench  # bench/grid.py: the scratch database and its 35 × 200 section

CHROMIUM = "/usr/bin/chromium"
ORIGIN = "http://grid-keys.bench"
TABLE = re.compile(r"<table class=\"mastery-grid\".*?</table>", re.S)

# The table's set-up after a swap: (script ms, script + style and layout again ms, the fresh table's own layout
# ms), repeated.
SET_UP = """([markup, repeat]) => {
  const layout = () => document.body.getBoundingClientRect() && document.body.offsetHeight;
  const runs = [];
  for (let n = 0; n < repeat; n += 1) {
    const template = document.createElement("template");
    template.innerHTML = markup;
    const fresh = template.content.firstElementChild;
    document.querySelector("table.mastery-grid").replaceWith(fresh);
    let start = performance.now();
    layout();
    const table = performance.now() - start;
    start = performance.now();
    fresh.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true }));
    const script = performance.now() - start;
    layout();
    runs.push([script, performance.now() - start, table]);
  }
  const grid = document.querySelector("table.mastery-grid");
  const tabStops = grid.querySelectorAll('a[tabindex="0"], a:not([tabindex])').length;
  return { runs, tabStops, links: grid.querySelectorAll("a").length };
}"""

# Each key dispatched on the focused cell, timed to the focus landing; returns the ms of each press.
PRESSES = """(keys) => {
  document.querySelector("table.mastery-grid tbody a").focus();
  return keys.map(([key, ctrlKey]) => {
    const from = document.activeElement;
    const start = performance.now();
    from.dispatchEvent(new KeyboardEvent("keydown", { key, ctrlKey, bubbles: true, cancelable: true }));
    return performance.now() - start;
  });
}"""

# How far the focused cell is hidden under its row's student name (0: not at all).
COVERED = """() => {
  const cell = document.activeElement.parentElement;
  const name = cell.parentElement.cells[0];
  return cell === name ? 0 : Math.max(0, name.getBoundingClientRect().right - cell.getBoundingClientRect().left);
}"""

KEYS = (
    [("ArrowRight", False)] * 120
    + [("ArrowDown", False)] * 30
    + [("End", False), ("Home", False), ("PageDown", False), ("Control+End", True), ("Control+Home", True)] * 10
)


def render_page(section) -> str:
    """The grid page as the server sends it, with plain static file names (bench/grid.py's reason)."""
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client()
    client.force_login(grid_bench.section_teacher(section))
    with override_settings(STORAGES=storages):
        response = client.get(reverse("mastery-grid", args=[section.pk]))
    assert response.status_code == 200
    return response.content.decode()


def serve(page_html: str):
    """A route handler: the grid page at /, static files from the apps (their finders), nothing else."""
    from django.contrib.staticfiles import finders

    def handle(route) -> None:
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            route.fulfill(body=page_html, content_type="text/html; charset=utf-8")
            return
        found = finders.find(path.removeprefix("/static/")) if path.startswith("/static/") else None
        if found:
            route.fulfill(path=str(found))
        else:
            route.abort()

    return handle


def uncovered_from_end_of_row(page, cells: int) -> float:
    """The most a cell was hidden under the student names, pressing ArrowLeft from the grid's last cell."""
    page.locator("table.mastery-grid tbody a").first.focus()
    page.keyboard.press("Control+End")
    worst = page.evaluate(COVERED)
    for _ in range(cells):
        page.keyboard.press("ArrowLeft")
        worst = max(worst, page.evaluate(COVERED))
    return worst


def measure(page_html: str, repeat: int) -> dict:
    from playwright.sync_api import sync_playwright

    table = TABLE.search(page_html)
    assert table, "no grid table in the page"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.route("**/*", serve(page_html))
        page.goto(ORIGIN + "/")
        page.wait_for_function("document.querySelectorAll('table.mastery-grid a[tabindex]').length > 7000")
        set_up = page.evaluate(SET_UP, [table.group(0), repeat])
        presses = page.evaluate(PRESSES, KEYS)
        covered = uncovered_from_end_of_row(page, cells=200)
        browser.close()
    script, styled, table_ms = ([run[k] for run in set_up["runs"]] for k in range(3))
    return {
        "links": set_up["links"],
        "tab_stops_after_set_up": set_up["tabStops"],
        "set_up_runs": repeat,
        "set_up_script_p50_ms": round(statistics.median(script), 2),
        "set_up_script_max_ms": round(max(script), 2),
        "set_up_with_style_p50_ms": round(statistics.median(styled), 2),
        "set_up_with_style_max_ms": round(max(styled), 2),
        "table_layout_p50_ms": round(statistics.median(table_ms), 1),
        "key_presses": len(presses),
        "key_p50_ms": round(statistics.median(presses), 2),
        "key_p95_ms": round(sorted(presses)[int(len(presses) * 0.95)], 2),
        "key_max_ms": round(max(presses), 2),
        "most_covered_px": round(covered, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    section = grid_bench.prepare(SimpleNamespace(district=False, database_url=args.database_url, rebuild=False))
    result = measure(render_page(section), args.repeat)
    print(
        f"{result['links']} links: set-up p50 {result['set_up_script_p50_ms']} ms "
        f"(max {result['set_up_script_max_ms']}), with style and layout p50 {result['set_up_with_style_p50_ms']} ms "
        f"(max {result['set_up_with_style_max_ms']}; the table's own layout p50 {result['table_layout_p50_ms']} ms); "
        f"key press p50 {result['key_p50_ms']} ms, p95 {result['key_p95_ms']} (max {result['key_max_ms']}); "
        f"{result['tab_stops_after_set_up']} Tab stop; most covered {result['most_covered_px']} px"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
