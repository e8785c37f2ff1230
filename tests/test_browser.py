"""A real browser calls the mock from another origin, with credentials.

Headless Chromium (Debian's package, at /usr/bin/chromium) is driven by Playwright.
`make test` installs Chromium when it runs as root.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mockgraph import Config, MockGraph
from mockgraph.throttle import ThrottleLimit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = "<!doctype html><title>skills app</title><p>skills app</p>"
# Runs in the page: create a skill, then create another one that the throttle rejects.
CREATE_TWICE = """
async (url) => {
  const send = () => fetch(url, {
    method: "POST",
    credentials: "include",
    headers: {"Authorization": "Bearer browser-token", "Content-Type": "application/json"},
    body: JSON.stringify({displayName: "TypeScript", proficiency: "expert"}),
  });
  const created = await send();
  const createdBody = await created.json();
  const throttled = await send();
  const throttledBody = await throttled.json();
  return {
    createdStatus: created.status,
    requestId: created.headers.get("request-id"),
    location: created.headers.get("Location"),
    displayName: createdBody.displayName,
    throttledStatus: throttled.status,
    retryAfter: throttled.headers.get("Retry-After"),
    throttledCode: throttledBody.error.code,
  };
}
"""


@pytest.fixture
def page_origin(tmp_path):
    """Serve a small page from 127.0.0.1 on its own port; yield its origin."""
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def browser_page(tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing; `make test` installs it when run as root"
        if os.environ.get("CI"):
            pytest.fail(message)

        pytest.skip(message)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_browser_creates_skill_and_reads_headers(browser_page, page_origin):
    config = Config(port=0, seed=1, throttle=ThrottleLimit(1, 60))
    with MockGraph(config) as graph:
        skills_url = graph.url + "/users/42/profile/skills"
        browser_page.goto(page_origin + "/index.html")
        result = browser_page.evaluate(CREATE_TWICE, skills_url)
        records = graph.interactions

    created = records.filter(method="POST", status=201)[0]

    assert result["createdStatus"] == 201
    assert result["displayName"] == "TypeScript"
    assert result["requestId"] == created.response_headers["request-id"]
    assert result["location"] == f"{skills_url}/{created.response_body['id']}"
    assert result["throttledStatus"] == 429
    assert result["throttledCode"] == "TooManyRequests"
    assert 1 <= int(result["retryAfter"]) <= 60
    preflights = records.filter(method="OPTIONS")
    assert len(preflights) >= 1
    assert preflights[0].operation == "corsPreflight"
    assert preflights[0].headers["Origin"] == page_origin
