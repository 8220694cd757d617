"""Open every page of the built book in headless Chromium and check it.

Run after ``jupyter-book build``::

    python .ci/check_site.py [_build/html]

For every HTML page of the book: it must load without console errors or page
errors; math must be typeset without MathJax errors (output present wherever the page holds
math); on notebook pages every figure must have a non-zero size, and the cell
after every slider cell (tag ``nbval-ignore-output``) must hold the static
figure. A full-page screenshot of each page goes to ``_build/screenshots``.

The site must work offline: pages are served from the build folder on 127.0.0.1 and every
other request is blocked and counted as a failure, so MathJax must come from the site itself
(``_static/mathjax``, copied there by ``sphinx-mathjax-offline``), not from a CDN. Then
``index.html`` is opened from disk (``file://``, still with nothing else reachable) and its
math must typeset there too.

The pages of README's build have no launch (Binder, Colab), repository or issues buttons:
those come only with ``.ci/publish_config.py`` in the publishing workflow.
Chromium is Debian's ``/usr/bin/chromium``, driven by Playwright.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import threading
from pathlib import Path

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

SKIP = re.compile(r"^(_static|_sources|_images|genindex|search|py-modindex)")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on stderr
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def route_offline(allowed: tuple[str, ...], blocked: list[str]):
    """Let requests to ``allowed`` URL prefixes through; block and record every other one."""

    def handle(route):
        url = route.request.url
        if url.startswith(allowed):
            return route.continue_()
        blocked.append(url)
        return route.abort()

    return handle


CHECKS = """() => {
  const imgs = [...document.querySelectorAll('.cell_output img, .output img')];
  const sliders = [...document.querySelectorAll('div.cell.tag_nbval-ignore-output')];
  const fallbacks = sliders.map(cell => {
    let next = cell.nextElementSibling;
    while (next && !next.classList.contains('cell')) next = next.nextElementSibling;
    const img = next ? next.querySelector('img') : null;
    return !!(img && img.naturalWidth > 0 && img.naturalHeight > 0);
  });
  return {
    n_images: imgs.length,
    empty_images: imgs.filter(i => !(i.naturalWidth > 0 && i.naturalHeight > 0)).length,
    n_sliders: sliders.length,
    sliders_without_fallback: fallbacks.filter(ok => !ok).length,
    has_math: document.querySelectorAll('.math, span.math, div.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    math_errors: [...document.querySelectorAll('mjx-merror')].map(
      e => e.getAttribute('data-mjx-error') || e.textContent),
    mathjax_src: [...document.querySelectorAll('script[src*="mathjax" i]')].map(s => s.src),
    // the theme's header buttons that leave the site (launch, repository, issues)
    buttons: [...document.querySelectorAll('.article-header-buttons a[href]')]
      .map(a => a.href).filter(h => /^https?:/.test(h) && !h.startsWith(location.origin)),
  };
}"""


def wait_for_mathjax(page) -> list[str]:
    """Wait until MathJax (if the page loads it) has typeset; a problem if it never starts."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
            timeout=20_000,
        )
    except PlaywrightTimeout:
        return ["MathJax never started (its script did not load)"]
    page.evaluate(
        "() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null"
    )
    return []


def check_page(
    page, url: str, name: str, shots: Path, is_notebook: bool, blocked: list[str]
) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    n_blocked = len(blocked)
    page.goto(url, wait_until="networkidle")
    not_started = wait_for_mathjax(page)
    info = page.evaluate(CHECKS)
    problems = not_started + [f"console error: {e}" for e in errors]
    problems += [f"request outside the site (blocked): {u}" for u in blocked[n_blocked:]]
    site = url.rsplit("/", 1)[0].split("/notebooks")[0]
    problems += [
        f"MathJax loaded from outside the site: {src}"
        for src in info["mathjax_src"]
        if not src.startswith(site)
    ]
    problems += [f"launch or repository button in a local build: {h}" for h in info["buttons"]]
    if info["has_math"] and not info["typeset"]:
        problems.append(f"{info['has_math']} math elements but nothing typeset by MathJax")
    problems += [f"MathJax error: {e}" for e in info["math_errors"]]
    if is_notebook:
        if info["n_images"] == 0:
            problems.append("a notebook page without figures")
        if info["empty_images"]:
            problems.append(f"{info['empty_images']} figures of zero size")
        if info["sliders_without_fallback"]:
            problems.append(
                f"{info['sliders_without_fallback']} of {info['n_sliders']} slider cells "
                "are not followed by a static figure"
            )
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name.replace('/', '__')}.png"), full_page=True)
    print(
        f"{'FAIL' if problems else 'ok  '} {name}: {info['n_images']} figures, "
        f"{info['n_sliders']} sliders, {info['typeset']} formulas"
    )
    return problems


def check_from_disk(context, root: Path, shots: Path) -> list[str]:
    """``index.html`` opened as a file (it redirects to the first page): math typesets."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((root / "index.html").resolve().as_uri(), wait_until="networkidle")
    not_started = wait_for_mathjax(page)
    info = page.evaluate(CHECKS)
    page.screenshot(path=str(shots / "index-from-disk.png"), full_page=True)
    page.close()
    problems = not_started + [f"page error: {e}" for e in errors]
    if not info["has_math"] or not info["typeset"]:
        problems.append(
            f"{info['has_math']} math elements, {info['typeset']} typeset by MathJax offline"
        )
    problems += [f"MathJax error: {e}" for e in info["math_errors"]]
    print(
        f"{'FAIL' if problems else 'ok  '} index.html from disk (file://, offline): "
        f"{info['typeset']} formulas"
    )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default="_build/html")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(args.build)
    pages = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*.html")
        if not SKIP.match(p.relative_to(root).as_posix()) and p.name != "index.html"
    )
    if not pages:
        print(f"no pages found under {root}")
        return 1
    server, base = serve(root)
    failures: dict[str, list[str]] = {}
    blocked: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", route_offline((base + "/",), blocked))
            for name in pages:
                page = context.new_page()
                problems = check_page(
                    page,
                    f"{base}/{name}",
                    name,
                    root.parent / "screenshots",
                    name.startswith("notebooks/"),
                    blocked,
                )
                page.close()
                if problems:
                    failures[name] = problems
            context.close()
            # from disk: files under the build folder only, nothing else
            offline = browser.new_context(viewport={"width": 1280, "height": 900})
            disk: list[str] = []
            offline.route("**/*", route_offline((root.resolve().as_uri() + "/",), disk))
            problems = check_from_disk(offline, root, root.parent / "screenshots")
            problems += [f"request outside the site (blocked): {u}" for u in disk]
            if problems:
                failures["index.html (file://)"] = problems
            browser.close()
    finally:
        server.shutdown()
    for name, problems in failures.items():
        for p in problems:
            print(f"FAIL {name}: {p}")
    n_checked = len(pages) + 1  # every page, and index.html from disk
    print(f"{n_checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
