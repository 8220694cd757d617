"""Publishing: launch buttons from the workflow's repository, Binder's files, Colab's cell.

The sources name no repository: ``.ci/publish_config.py`` writes the launch buttons into a
copy of ``_config.yml`` when the publishing workflow runs. These tests build the book from
such a copy with a made-up repository (without executing the notebooks) and check every
notebook page's Binder and Colab links; check that the committed configuration has no
buttons; keep Binder's versions equal to ``pyproject.toml``'s; and check each notebook's
Colab cell (first code cell, installs the pinned package on Colab only).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
import types
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = PYPROJECT["version"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
TOC_NOTEBOOKS = [
    entry["file"]
    for entry in yaml.safe_load((ROOT / "_toc.yml").read_text())["chapters"]
    if entry["file"].startswith("notebooks/")
]

_spec = importlib.util.spec_from_file_location("publish_config", ROOT / ".ci" / "publish_config.py")
publish_config = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publish_config)

# a repository and branch that exist nowhere: only the links' shape is checked
REPO, OWNER, NAME, BRANCH = (
    "https://github.com/example-teacher/dbm-course",
    "example-teacher",
    "dbm-course",
    "spring-term",
)


# ---------------------------------------------------------------- launch buttons


class _Links(HTMLParser):
    """Every link in the page's header buttons (launch, repository, issues)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # > 0 inside <div class="article-header-buttons">
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth:
            if tag == "div":
                self.depth += 1
            if tag == "a" and attrs.get("href"):
                self.links.append(attrs["href"])
        elif tag == "div" and "article-header-buttons" in (attrs.get("class") or "").split():
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag == "div":
            self.depth -= 1


def _header_links(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf8"))
    return parser.links


@pytest.fixture(scope="module")
def published_site(tmp_path_factory) -> Path:
    """The book built from the publishing workflow's configuration, notebooks not executed."""
    pytest.importorskip("jupyter_book")
    tmp = tmp_path_factory.mktemp("published")
    config = tmp / "publish_config.yml"
    assert publish_config.main([str(config), "--url", REPO, "--branch", BRANCH]) == 0
    settings = yaml.safe_load(config.read_text())
    settings["execute"]["execute_notebooks"] = "off"  # links only: no outputs needed
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    # not -W: without executed notebooks the intro page's glued figures are missing
    result = subprocess.run(
        [
            Path(sys.executable).with_name("jupyter-book"),
            "build",
            str(ROOT),
            "--config",
            str(config),
            "--path-output",
            str(tmp),
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp / "_build" / "html"


def test_every_notebook_is_a_chapter():
    assert TOC_NOTEBOOKS == [f"notebooks/{p.stem}" for p in NOTEBOOKS]


@pytest.mark.parametrize("docname", TOC_NOTEBOOKS, ids=lambda d: d.split("/")[-1])
def test_notebook_page_launches_its_notebook_on_binder_and_colab(published_site, docname):
    links = _header_links(published_site / f"{docname}.html")
    binder = [u for u in links if u.startswith("https://mybinder.org/")]
    colab = [u for u in links if u.startswith("https://colab.research.google.com/")]
    # Binder opens JupyterLab on the notebook, on the branch the site was published from
    assert binder == [
        f"https://mybinder.org/v2/gh/{OWNER}/{NAME}/{BRANCH}?urlpath=lab/tree/{docname}.ipynb"
    ]
    assert colab == [
        f"https://colab.research.google.com/github/{OWNER}/{NAME}/blob/{BRANCH}/{docname}.ipynb"
    ]
    assert REPO in links  # repository button
    assert any(u.startswith(f"{REPO}/issues/new?") for u in links)  # issues button


def test_other_pages_have_repository_buttons_but_nothing_to_launch(published_site):
    for name in ("intro", "overview", "notation", "api", "bibliography"):
        links = _header_links(published_site / f"{name}.html")
        assert REPO in links, name
        assert not [u for u in links if "mybinder.org" in u or "colab.research" in u], name


def test_local_build_has_no_repository_or_launch_buttons():
    """The committed ``_config.yml`` (README's build) names no repository: no buttons."""
    pytest.importorskip("jupyter_book")
    from jupyter_book.config import get_final_config

    theme = get_final_config(
        user_yaml=ROOT / "_config.yml", cli_config={"latex_individualpages": False}
    )[0]["html_theme_options"]
    launch = theme.get("launch_buttons", {})
    assert not any(launch.get(k) for k in ("binderhub_url", "colab_url", "jupyterhub_url"))
    assert not any(
        theme.get(k) for k in ("use_repository_button", "use_issues_button", "use_edit_page_button")
    )
    assert "repository" not in yaml.safe_load((ROOT / "_config.yml").read_text())


def test_publish_config_changes_only_the_buttons():
    base = yaml.safe_load((ROOT / "_config.yml").read_text())
    published = publish_config.publish_config(REPO + ".git", "main")
    assert published["repository"] == {"url": REPO, "branch": "main", "path_to_book": ""}
    assert published["launch_buttons"]["notebook_interface"] == "jupyterlab"
    assert published["html"] == {
        **base["html"],
        "use_repository_button": True,
        "use_issues_button": True,
    }
    # everything else as committed (local extensions by absolute path)
    for key in set(base) - {"repository", "launch_buttons", "html", "sphinx"}:
        assert published[key] == base[key], key
    ext = published["sphinx"].pop("local_extensions")
    assert {k: Path(v) for k, v in ext.items()} == {
        k: (ROOT / v).resolve() for k, v in base["sphinx"].pop("local_extensions").items()
    }
    assert published["sphinx"] == base["sphinx"]


@pytest.mark.parametrize(
    "url", ["https://gitlab.com/a/b", "http://github.com/a/b", "https://github.com/a", "a/b"]
)
def test_publish_config_rejects_what_colab_cannot_open(url):
    with pytest.raises(ValueError, match="url"):
        publish_config.overlay(url, "main")


def test_publish_config_reads_the_repository_from_github_actions(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{NAME}")
    monkeypatch.setenv("GITHUB_REF_NAME", BRANCH)
    assert publish_config.main([str(tmp_path / "c.yml")]) == 0
    written = yaml.safe_load((tmp_path / "c.yml").read_text())["repository"]
    assert written == {"url": REPO, "branch": BRANCH, "path_to_book": ""}


# ---------------------------------------------------------------- Binder


def _requirements(lines) -> dict[str, str]:
    """``{name: specifier}`` from requirement lines (comments and blanks skipped)."""
    out = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, spec = re.fullmatch(r"([A-Za-z0-9_.\[\]-]+)\s*(.*)", line).groups()
            out[name.lower()] = spec.replace(" ", "")
    return out


def test_binder_installs_pyprojects_versions():
    binder = _requirements((ROOT / "binder" / "requirements.txt").read_text().splitlines())
    wanted = _requirements(PYPROJECT["dependencies"])
    wanted["jupyterlab"] = _requirements(PYPROJECT["optional-dependencies"]["test"])["jupyterlab"]
    assert binder == wanted


def test_binder_installs_the_package_from_the_repository():
    post = (ROOT / "binder" / "postBuild").read_text()
    assert re.search(r"^python -m pip install --no-deps \.$", post, re.M)
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111  # executable


def test_binder_python_is_the_projects():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    assert f"python={runtime.removeprefix('python-')}" in conda
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["requires-python"]).groups()
    assert tuple(map(int, runtime.removeprefix("python-").split("."))) >= tuple(map(int, minimum))


# ---------------------------------------------------------------- Colab


def _py_cells(path: Path) -> list[tuple[str, list[str], str]]:
    """``(kind, tags, source)`` of every cell of a py:percent twin."""
    cells = []
    for block in re.split(r"^(?=# %%)", path.read_text(), flags=re.M)[1:]:
        header, _, source = block.partition("\n")
        kind = "markdown" if "[markdown]" in header else "code"
        tags = json.loads(m[1]) if (m := re.search(r"tags=(\[.*?\])", header)) else []
        cells.append((kind, tags, source.strip()))
    return cells


def _ipynb_cells(path: Path) -> list[tuple[str, list[str], str]]:
    nb = json.loads(path.read_text())
    return [
        (c["cell_type"], c.get("metadata", {}).get("tags", []), "".join(c["source"]).strip())
        for c in nb["cells"]
    ]


def _colab_cell(cells) -> str:
    code = [(tags, source) for kind, tags, source in cells if kind == "code"]
    tags, source = code[0]
    assert "colab-setup" in tags, "the first code cell must be the Colab setup cell"
    assert sum("colab-setup" in t for t, _ in code) == 1
    return source


def _run(source: str, monkeypatch, on_colab: bool) -> list:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append((a, k)))
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab cell>", "exec"), {})
    return calls


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_cell_installs_the_pinned_package_on_colab_only(path, monkeypatch):
    source = _colab_cell(_py_cells(path))
    ast.parse(source)
    assert '"google.colab" in sys.modules' in source
    # the next code cell imports the package
    code = [s for kind, _, s in _py_cells(path) if kind == "code"]
    assert re.search(r"^import dbmtools as dbm$", code[1], re.M)
    assert _run(source, monkeypatch, on_colab=False) == []
    calls = _run(source, monkeypatch, on_colab=True)
    assert calls == [
        (([sys.executable, "-m", "pip", "install", f"dbmtools=={VERSION}"],), {"check": True})
    ]
    # the comment names the same version as the pin
    assert set(re.findall(r"dbmtools[ =]=?(\d+\.\d+\.\d+[\w.+-]*)", source)) == {VERSION}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_synced_notebook_has_the_twins_colab_cell(path):
    """Once ``jupytext --sync`` has run, the .ipynb holds the same cell as its twin."""
    cells = _ipynb_cells(path.with_suffix(".ipynb"))
    if not any("colab-setup" in tags for _, tags, _ in cells):
        pytest.skip(f"{path.with_suffix('.ipynb').name} not synced with its twin yet")
    assert _colab_cell(cells) == _colab_cell(_py_cells(path))


def test_package_version_is_pyprojects():
    import dbmtools

    assert dbmtools.__version__ == VERSION
