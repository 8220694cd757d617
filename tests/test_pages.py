"""The book's own pages: the overview's glued numbers exist, the notation page is linked.

The overview's table of key results pastes numbers that the notebooks glue
(``{glue:text}`notebooks/NN_x.ipynb::key:fmt```). A missing key fails the book build
(``-W``); this test finds it in a second, without executing anything, and names the notebook
that should glue it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
# {glue:text}`notebooks/05_x.ipynb::key-05-what:.3g` (or {glue}, {glue:any} ...)
GLUE_REF = re.compile(r"\{glue(?::\w+)?\}`(?P<doc>[^`:]+)::(?P<key>[\w-]+)(?::[^`]*)?`")
NOTATION_LINK = (
    "Symbols are defined once for the whole book on the [notation page](../notation.md)."
)


def _glue_refs(page: str) -> list[tuple[str, str]]:
    return [(m["doc"], m["key"]) for m in GLUE_REF.finditer((ROOT / page).read_text())]


def _glued_keys(twin: Path) -> set[str]:
    """Keys a notebook glues: a string literal on a line that calls a glue function."""
    return {
        key
        for line in twin.read_text().splitlines()
        if "glue" in line and not line.lstrip().startswith("#")
        for key in re.findall(r"""["']([\w-]+)["']""", line)
    }


def test_overview_pastes_the_key_results():
    keys = {key for _, key in _glue_refs("overview.md")}
    assert {"key-01-exponent", "key-04-adjoint-fd", "key-05-rmse3-pair"} <= keys


@pytest.mark.parametrize("page", ["overview.md", "intro.md"])
def test_every_pasted_number_is_glued_by_its_notebook(page):
    missing = []
    for doc, key in _glue_refs(page):
        twin = (ROOT / doc).with_suffix(".py")
        assert twin.exists(), f"{page} pastes from {doc}, which does not exist"
        if key not in _glued_keys(twin):
            missing.append(f"{twin.name} does not glue {key!r}")
    assert not missing, f"{page}:\n  " + "\n  ".join(missing)


def test_overview_and_notation_are_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [entry["file"] for entry in toc["chapters"]]
    assert files[0] == "overview"  # right after the intro page (the root)
    assert files.index("notation") < files.index("api")
    assert files.index("notation") > max(i for i, f in enumerate(files) if "notebooks/" in f)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_links_the_notation_page(path):
    lines = {line.removeprefix("#").strip() for line in path.read_text().splitlines()}
    assert NOTATION_LINK in lines, f"{path.name} lacks the line: {NOTATION_LINK}"


def _title(twin: Path) -> str:
    return next(line[4:] for line in twin.read_text().splitlines() if line.startswith("# # "))


def test_intro_names_every_chapter_by_its_title_in_order():
    """``### 5. [Learning moment closure ...](notebooks/05_...)``: number and title as in 05."""
    intro = (ROOT / "intro.md").read_text()
    entries = re.findall(r"^### (\d+\. )\[(.+?)\]\((notebooks/\w+)\)", intro, re.M)
    assert [(number + name, f"{doc}.py") for number, name, doc in entries] == [
        (_title(p), f"notebooks/{p.name}") for p in NOTEBOOKS
    ]
