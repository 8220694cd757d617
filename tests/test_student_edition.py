"""The student edition (``tools/student_edition.py``): no solution in it, everything else kept.

Two kinds of test. On small notebooks made here, the tool's rules: solution cells go, the
rest stays, a solution marker without the ``solution`` tag stops it, format slips are
reported. On the book's notebooks: each follows the exercise format (a ``scaffold`` cell after
every exercise, solutions tagged, a project), and its student version holds exactly the
cells that are not solutions, so none of a solution's own lines (compared against the
solution cells of the full notebook) and no outputs.

That the student notebooks also *run* top to bottom is proved by executing them, which
takes as long as the book: ``.ci/run`` builds the student book
(``python tools/student_edition.py``, warnings as errors, execution errors fatal) after
``pytest``, and so does the ``student`` job of ``.github/workflows/ci.yml``.
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location(
    "student_edition", ROOT / "tools" / "student_edition.py"
)
student_edition = importlib.util.module_from_spec(_spec)
sys.modules["student_edition"] = student_edition  # dataclasses look their module up
_spec.loader.exec_module(student_edition)

BOOK_NOTEBOOKS = student_edition.book_notebooks(ROOT)


def _md(text: str, *tags: str):
    return new_markdown_cell(text, metadata={"tags": list(tags)})


def _code(text: str, *tags: str):
    return new_code_cell(text, metadata={"tags": list(tags)})


def _exercise(label: str) -> list:
    """One exercise in the book's format: text, scaffold, tagged solution."""
    return [
        _md(f"```{{exercise-start}}\n:label: {label}\n```\nSum 1..n.\n```{{exercise-end}}\n```"),
        _code("n = 10\ntotal = ...\nprint(total)", "scaffold"),
        _md(f"```{{solution-start}} {label}\n:class: dropdown\n```", "solution"),
        _code(f"total_{label} = n * (n + 1) // 2\nprint(total_{label})", "solution"),
        _md("The sum is 55.", "solution"),
        _md("```{solution-end}\n```", "solution"),
    ]


def _notebook(*cells):
    return new_notebook(
        cells=list(cells),
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def _good():
    return _notebook(
        _md("# 1. A chapter"),
        _code("import math"),
        *_exercise("exa"),
        *_exercise("exb"),
        _md("### Project\nFind out more."),
        _md("## Summary"),
    )


# ---------------------------------------------------------------- the tool's rules


def test_doctests():
    result = doctest.testmod(student_edition, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_a_good_notebook_passes_and_loses_exactly_its_solutions():
    nb = _good()
    nb.cells[1].outputs = [new_output("stream", text="hello")]
    report = student_edition.check_exercises(nb)
    assert report.ok and report.n_exercises == 2 and report.n_solution_cells == 8
    student = student_edition.student_notebook(nb)
    kept = [c.source for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    assert [c.source for c in student.cells] == kept
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")
    assert nb.cells[1].outputs  # the full notebook is not changed
    nbformat.validate(student)
    text = "\n".join(c.source for c in student.cells)
    assert "n * (n + 1) // 2" not in text and "solution" not in text
    assert student_edition.solution_lines(nb) == {
        "total_exa = n * (n + 1) // 2",
        "print(total_exa)",
        "total_exb = n * (n + 1) // 2",
        "print(total_exb)",
        "The sum is 55.",
        "```{solution-start} exa",
        "```{solution-start} exb",
        ":class: dropdown",
        "```{solution-end}",
    }


@pytest.mark.parametrize(
    ("cell", "tags", "message"),
    [
        (4, [], "cell 4 opens {solution-start} but is not tagged `solution`"),
        (5, [], "cell 5 lies inside a solution but is not tagged `solution`"),
        (7, [], "cell 7 opens {solution-end} but is not tagged `solution`"),
        (8, ["solution"], "cell 8 holds {exercise-start} but is tagged `solution`"),
    ],
)
def test_a_leak_is_found(cell, tags, message):
    nb = _good()
    nb.cells[cell].metadata["tags"] = tags
    assert any(m.startswith(message) for m in student_edition.check_exercises(nb).leaks)


def test_format_slips_are_reported_by_exercise():
    nb = _good()
    del nb.cells[3]  # exercise exa loses its scaffold
    nb.cells[8].source = "print(sum(range(...)))"  # exb's scaffold calls with a blank
    nb.cells[-2].source = "### More to do"  # no project
    report = student_edition.check_exercises(nb)
    assert not report.leaks
    assert report.format == [
        "exercise 'exa' (cell 2) is not followed by a code cell tagged `scaffold` (blanks `...`)",
        "exercise 'exb' (cell 7): its scaffold (cell 8) passes `...` to a call on line 1",
        "no open-ended project (a markdown heading with 'Project')",
    ]


def test_a_later_cell_that_needs_a_solution_is_reported():
    nb = _good()
    nb.cells.insert(14, _code("print(total_exa + n)"))  # total_exa: only exa's solution
    assert student_edition.check_exercises(nb).format == [
        "cell 14 reads `total_exa`, which only a solution defines: the student edition "
        "cannot run it"
    ]
    nb.cells[14].source = "total_exa = 55\nprint(total_exa + n)"  # defined here: fine
    assert student_edition.check_exercises(nb).ok


def test_a_scaffold_needs_a_blank_and_must_parse():
    nb = _good()
    nb.cells[3].source = "total = 55"
    nb.cells[9].source = "total = (..."
    problems = student_edition.check_exercises(nb).format
    assert "exercise 'exa' (cell 2): its scaffold (cell 3) has no blank written `...`" in problems
    assert any("its scaffold (cell 9) does not parse" in p for p in problems)


def _book(root: Path, nb) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: notebooks/01_x\n  - file: notes\n"
    )
    (root / "_config.yml").write_text("title: A book\nexecute:\n  execute_notebooks: cache\n")
    (root / "intro.md").write_text("# A book\n\nWelcome.\n")
    (root / "notes.md").write_text("# Notes\n")
    (root / "references.bib").write_text("")
    (root / "_ext").mkdir()
    (root / "_ext" / "fix.py").write_text("")
    nbformat.write(nb, root / "notebooks" / "01_x.ipynb")
    return root


def test_the_command_writes_student_notebooks_and_book_sources(tmp_path):
    root = _book(tmp_path / "book", _good())
    out = tmp_path / "student"
    assert student_edition.main(["--root", str(root), "--out", str(out), "--no-book"]) == 0
    student = nbformat.read(out / "notebooks" / "01_x.ipynb", as_version=4)
    assert [c.source for c in student.cells] == [
        c.source for c in student_edition.student_notebook(_good()).cells
    ]
    assert (out / "notes.md").read_text() == "# Notes\n"
    assert (out / "_ext" / "fix.py").exists() and (out / "references.bib").exists()
    assert "(student edition)" in (out / "_config.yml").read_text()
    intro = (out / "intro.md").read_text()
    assert intro.startswith("# A book\n") and "Student edition" in intro


def test_the_command_refuses_to_leak(tmp_path, capsys):
    nb = _good()
    nb.cells[5].metadata["tags"] = []  # a solution code cell without its tag
    root = _book(tmp_path / "book", nb)
    out = tmp_path / "student"
    assert student_edition.main(["--root", str(root), "--out", str(out), "--no-book"]) == 1
    assert "01_x.ipynb: cell 5 lies inside a solution" in capsys.readouterr().err
    assert not (out / "notebooks").exists()


def test_a_chapter_without_its_notebook_stops_the_command(tmp_path, capsys):
    root = _book(tmp_path / "book", _good())
    (root / "notebooks" / "01_x.ipynb").rename(root / "notebooks" / "01_x.py")
    assert student_edition.main(["--root", str(root), "--out", str(tmp_path / "s")]) == 1
    assert "no notebook (run `jupytext --sync`): notebooks/01_x" in capsys.readouterr().err


def test_strict_stops_at_format_slips(tmp_path):
    nb = _good()
    del nb.cells[3]
    root = _book(tmp_path / "book", nb)
    args = ["--root", str(root), "--out", str(tmp_path / "s"), "--no-book"]
    assert student_edition.main(args) == 0
    assert student_edition.main([*args, "--strict"]) == 1


def test_site_check_finds_a_solution(tmp_path):
    html = tmp_path / "html"
    (html / "notebooks").mkdir(parents=True)
    (html / "notebooks" / "a.html").write_text('<div class="solution dropdown admonition">')
    (html / "notebooks" / "b.html").write_text('<div class="exercise admonition">')
    assert student_edition.check_site(html) == ["notebooks/a.html shows a solution"]


# ---------------------------------------------------------------- the book's notebooks


def test_the_book_has_notebooks():
    assert BOOK_NOTEBOOKS, "no notebook of _toc.yml found"


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_synced_with_its_twin(path):
    """The student edition reads the ``.ipynb``: it must hold what its twin holds."""
    jupytext = pytest.importorskip("jupytext")

    def cells(nb):
        return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]

    twin = path.with_suffix(".py")
    assert cells(nbformat.read(path, as_version=4)) == cells(jupytext.read(twin)), (
        f"{path.name} differs from {twin.name}: run `jupytext --sync {path.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_keeps_its_solutions_apart(path):
    """Nothing of a solution would reach the student edition (leaks stop the tool)."""
    report = student_edition.check_exercises(nbformat.read(path, as_version=4))
    assert not report.leaks, f"{path.name}:\n  " + "\n  ".join(report.leaks)


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_exercise_format(path):
    """A scaffold after every exercise, solutions tagged, an open-ended project."""
    report = student_edition.check_exercises(nbformat.read(path, as_version=4))
    assert report.n_exercises > 0, f"{path.name} has no exercises"
    assert not report.format, f"{path.name}:\n  " + "\n  ".join(report.format)


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: p.stem)
def test_student_notebook_holds_everything_but_the_solutions(path):
    full = nbformat.read(path, as_version=4)
    student = student_edition.student_notebook(full)
    nbformat.validate(student)
    not_solution = [c for c in full.cells if "solution" not in c.metadata.get("tags", [])]
    assert [(c.cell_type, c.source) for c in student.cells] == [
        (c.cell_type, c.source) for c in not_solution
    ]
    # compared with the full notebook's solution cells: none of their own lines is left
    text = {line.strip() for c in student.cells for line in c.source.splitlines()}
    assert not student_edition.solution_lines(full) & text
    assert not any("{solution" in c.source for c in student.cells)
    assert all(not c.outputs for c in student.cells if c.cell_type == "code")
    for cell in student.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)  # every code cell left is Python
