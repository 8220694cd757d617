"""The interactive path in a real client: JupyterLab + headless Chromium (issue 7).

Starts JupyterLab on localhost, opens notebook 01 in Debian's Chromium through
Playwright, runs every cell, moves the first slider with the keyboard and
checks that the figure below it is redrawn. Widgets that silently fail to
render are the most common complaint about tutorial notebooks; this test is
what keeps ours working. It is skipped, saying why, where Chromium or
Playwright is missing.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("DBMTOOLS_CHROMIUM", "/usr/bin/chromium")
# the same Chromium flags as the CI site check (.ci/check_site.py, stdlib imports only)
_spec = importlib.util.spec_from_file_location("check_site", ROOT / ".ci" / "check_site.py")
_check_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_check_site)
CHROMIUM_ARGS = _check_site.CHROMIUM_ARGS

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on localhost serving a copy of the notebooks folder."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "01_lattice_simulator.ipynb", work)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--expose-app-in-browser",
            "--allow-root",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "jupyterlab.log", "w"),
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                log = (work / "jupyterlab.log").read_text()[-2000:]
                pytest.fail(f"JupyterLab did not start within 90 s:\n{log}")
            time.sleep(0.5)
    yield base, token
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _figure_after_slider(page) -> str:
    """The data URL of the image in the output of the first slider's widget."""
    return page.evaluate(
        """() => {
        const slider = document.querySelector('.widget-slider, .jupyter-widget-slider');
        const box = slider && slider.closest('.jp-OutputArea-output');
        const img = box && box.querySelector('img');
        return img ? img.src : '';
    }"""
    )


def test_slider_redraws_the_figure_in_jupyterlab(jupyterlab):
    base, token = jupyterlab
    url = f"{base}/lab/tree/01_lattice_simulator.ipynb?token={token}"
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel",
            timeout=90_000,
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        # the slider view appears when its cell has run; its figure when the plot is drawn
        page.wait_for_function(
            """() => {
            const s = document.querySelector('.widget-slider, .jupyter-widget-slider');
            const box = s && s.closest('.jp-OutputArea-output');
            return !!(box && box.querySelector('img'));
        }""",
            timeout=300_000,
        )
        before = _figure_after_slider(page)
        handle = page.locator(".widget-slider .noUi-handle, .jupyter-widget-slider .noUi-handle")
        handle.first.focus()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            """(before) => {
            const s = document.querySelector('.widget-slider, .jupyter-widget-slider');
            const box = s && s.closest('.jp-OutputArea-output');
            const img = box && box.querySelector('img');
            return !!(img && img.src && img.src !== before);
        }""",
            arg=before,
            timeout=120_000,
        )
        after = _figure_after_slider(page)
        screenshots = ROOT / "_build" / "screenshots"
        screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshots / "jupyterlab_slider.png"))
        browser.close()
    assert before and after and before != after
    assert not errors, errors
