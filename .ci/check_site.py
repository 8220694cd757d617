"""Open every page of the built book in headless Chromium and check it.

Run after ``jupyter-book build``::

    python .ci/check_site.py [_build/html] [--cdn DIR]

For every HTML page of the book: it must load without console errors or page
errors; math must be typeset without MathJax errors (output present wherever the page holds
math); on notebook pages every figure must have a non-zero size, and the cell
after every slider cell (tag ``nbval-ignore-output``) must hold the static
figure. A full-page screenshot of each page goes to ``_build/screenshots``.

The book loads MathJax, require.js and the ipywidgets embedder from public
CDNs. This machine has no network except package registries, so ``--cdn``
points to an npm folder holding the same packages (``.ci/run`` installs
them); requests for those CDN URLs are answered from it, and any other
external request is blocked (and counted as a failure if it is an error).
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

# CDN URL prefix -> path inside the npm folder
CDN = {
    "https://cdn.jsdelivr.net/npm/mathjax@3/": "node_modules/mathjax/",
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.4/require.min.js": (
        "node_modules/requirejs/require.js"
    ),
    "https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@1.0.6/": (
        "node_modules/@jupyter-widgets/html-manager/"
    ),
}
SKIP = re.compile(r"^(_static|_sources|_images|genindex|search|py-modindex)")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on stderr
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def route_cdn(cdn_dir: Path | None, blocked: list[str]):
    def handle(route):
        url = route.request.url
        if url.startswith("http://127.0.0.1"):
            return route.continue_()
        if cdn_dir is not None:
            for prefix, local in CDN.items():
                if url.startswith(prefix):
                    rest = url[len(prefix) :].split("?")[0]
                    path = cdn_dir / local / rest if local.endswith("/") else cdn_dir / local
                    if path.is_file():
                        return route.fulfill(path=str(path))
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
  };
}"""


def check_page(page, url: str, name: str, shots: Path, is_notebook: bool) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="networkidle")
    page.wait_for_function(
        "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
        timeout=20_000,
    )
    page.evaluate(
        "() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null"
    )
    info = page.evaluate(CHECKS)
    problems = [f"console error: {e}" for e in errors]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default="_build/html")
    parser.add_argument("--cdn", type=Path, default=None, help="npm folder with the CDN packages")
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
            context.route("**/*", route_cdn(args.cdn, blocked))
            for name in pages:
                page = context.new_page()
                problems = check_page(
                    page,
                    f"{base}/{name}",
                    name,
                    root.parent / "screenshots",
                    name.startswith("notebooks/"),
                )
                page.close()
                if problems:
                    failures[name] = problems
            browser.close()
    finally:
        server.shutdown()
    for url in sorted(set(blocked)):
        print(f"note: blocked external request {url}")
    for name, problems in failures.items():
        for p in problems:
            print(f"FAIL {name}: {p}")
    print(f"{len(pages) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
