"""The book's math macros: every notebook that uses one defines it as _config.yml does.

The book's MathJax reads the macros from ``_config.yml``; JupyterLab does not, so each
notebook defines the macros it uses with ``\\newcommand`` in its first cell. This keeps the
two in step.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MACROS = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["mathjax3_config"][
    "tex"
]["macros"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _defined(text: str) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{\\(\w+)\}\{((?:[^{}]|\{[^{}]*\})*)\}", text))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_defines_the_macros_it_uses_as_the_book_does(path):
    text = path.read_text()
    markdown = "\n".join(line for line in text.splitlines() if line.startswith("#") and "$" in line)
    used = {m for m in MACROS if re.search(rf"\\{m}(?![A-Za-z])", markdown)}
    defined = _defined(text)
    for name in used:
        assert defined.get(name) == MACROS[name], (path.name, name, defined.get(name))
    # the definitions sit in the first cell, before any use
    if used:
        first_use = min(re.search(rf"\\{m}(?![A-Za-z])", text).start() for m in used)
        assert first_use > text.index("$\\newcommand")


def test_macros_are_defined_somewhere():
    assert MACROS and all(isinstance(v, str) for v in MACROS.values())
    assert any(_defined(p.read_text()) for p in NOTEBOOKS)
