"""Build the student edition: the notebooks and the book without the exercises' solutions.

One command, from the repository root, in the project's virtual environment::

    python tools/student_edition.py            # notebooks and book, into _student/
    python tools/student_edition.py --no-book  # the notebooks only (seconds)

It writes

* ``_student/notebooks/NN_topic.ipynb``: every chapter of ``_toc.yml`` with its solution
  cells removed and its outputs cleared, ready to hand out;
* ``_student/_build/html``: the book built from those notebooks, with warnings as errors
  (``jupyter-book build _student -W -n --keep-going``). The build executes every student
  notebook top to bottom, so it also proves that nothing after an exercise needs its
  solution.

The exercise format it relies on (CONTRIBUTING.md, "Exercises"): the exercise text sits in
``exercise-start``/``exercise-end`` markdown; directly after it comes one code cell tagged
``scaffold`` whose blanks are written ``...`` and which runs as given; then the solution,
i.e. the ``solution-start`` and ``solution-end`` markdown cells and every cell between them,
all tagged ``solution``. Cells tagged ``solution`` are what the student edition removes.
Before writing anything the script checks every notebook: a solution marker in a cell
without the tag would leak the solution, so it stops; a format slip that leaks nothing (an
exercise without a scaffold, no project) is reported and, with ``--strict``, also stops it.
``tests/test_student_edition.py`` holds the notebooks to the format and checks the result.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
SCAFFOLD_TAG = "scaffold"
# the sphinx-exercise directives, as they open a line of a MyST markdown cell
_DIRECTIVE = re.compile(
    r"^\s*(`{3,}|:{3,})\{(exercise-start|exercise-end|solution-start|"
    r"solution-end|exercise|solution)\}",
    re.M,
)
_PROJECT = re.compile(r"^#{1,6}\s.*\bProject\b", re.M)
# book files copied beside the student notebooks, besides the pages _toc.yml names
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
BOOK_DIRS = ("_ext", "images", "_static")
STUDENT_NOTE = """
```{admonition} Student edition
:class: tip
This is the student edition of the book: the solutions of the exercises are removed. Each
exercise is followed by a code cell with blanks, written `...`, for you to fill in.
```
"""

__all__ = [
    "Report",
    "book_notebooks",
    "check_exercises",
    "main",
    "solution_lines",
    "student_notebook",
    "write_student_edition",
]


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _directives(cell) -> list[str]:
    """The sphinx-exercise directives a markdown cell opens, in order."""
    if cell.cell_type != "markdown":
        return []
    return [m[2] for m in _DIRECTIVE.finditer(cell.source)]


@dataclass
class Report:
    """What :func:`check_exercises` found in one notebook.

    Attributes
    ----------
    leaks : list of str
        Problems that would put a solution into the student edition (a solution marker or
        a cell inside a solution without the ``solution`` tag) or take exercise text out of
        it. The student edition is not written while there are any.
    format : list of str
        Departures from the exercise format that leak nothing: an exercise without its
        scaffold cell, a scaffold without blanks or that calls a function with ``...``,
        no project.
    n_exercises : int
        Exercises found (``exercise-start`` directives).
    n_solution_cells : int
        Cells tagged ``solution``.
    """

    leaks: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    n_exercises: int = 0
    n_solution_cells: int = 0

    @property
    def ok(self) -> bool:
        """True when the notebook follows the format with nothing to report."""
        return not self.leaks and not self.format


def _scaffold_problems(source: str) -> list[str]:
    """A scaffold must parse, hold at least one ``...`` blank and pass none to a call."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"does not parse ({exc.msg}, line {exc.lineno})"]
    blanks = [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value is Ellipsis]
    problems = [] if blanks else ["has no blank written `...`"]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            if any(isinstance(a, ast.Constant) and a.value is Ellipsis for a in args):
                problems.append(f"passes `...` to a call on line {node.lineno}")
    return problems


def check_exercises(nb) -> Report:
    """Check a notebook against the exercise format of the student edition.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The full notebook (with its solutions).

    Returns
    -------
    Report
        Leaks (the student edition would show a solution or lose exercise text) and format
        problems, each naming the cell (counted from 0) and the exercise.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    >>> md = lambda text, tags=(): new_markdown_cell(text, metadata={"tags": list(tags)})
    >>> nb = new_notebook(cells=[
    ...     md("```{exercise-start}\\n:label: ex\\n```\\nAdd one.\\n```{exercise-end}\\n```"),
    ...     new_code_cell("x = ...", metadata={"tags": ["scaffold"]}),
    ...     md("```{solution-start} ex\\n```", ["solution"]),
    ...     new_code_cell("x = 1 + 1", metadata={"tags": ["solution"]}),
    ...     md("```{solution-end}\\n```", ["solution"]),
    ...     md("## Project\\nExplore."),
    ... ])
    >>> check_exercises(nb)
    Report(leaks=[], format=[], n_exercises=1, n_solution_cells=3)
    >>> nb.cells[2].metadata["tags"] = []  # the solution-start cell loses its tag
    >>> check_exercises(nb).leaks
    ['cell 2 opens {solution-start} but is not tagged `solution`']
    """
    report = Report()
    cells = nb.cells
    in_solution = False
    for i, cell in enumerate(cells):
        tagged = SOLUTION_TAG in _tags(cell)
        report.n_solution_cells += tagged
        directives = _directives(cell)
        for d in directives:
            if d in ("solution-start", "solution-end", "solution") and not tagged:
                report.leaks.append(f"cell {i} opens {{{d}}} but is not tagged `solution`")
            if d in ("exercise-start", "exercise-end", "exercise") and tagged:
                report.leaks.append(
                    f"cell {i} holds {{{d}}} but is tagged `solution`: the student edition "
                    "would lose the exercise text"
                )
        if in_solution and not tagged and "solution-end" not in directives:
            report.leaks.append(f"cell {i} lies inside a solution but is not tagged `solution`")
        for d in directives:
            if d == "solution-start":
                in_solution = True
            elif d == "solution-end":
                in_solution = False
        if SCAFFOLD_TAG in _tags(cell):
            after_exercise = i > 0 and "exercise-end" in _directives(cells[i - 1])
            if not after_exercise:
                report.format.append(
                    f"cell {i} is tagged `scaffold` but does not directly follow an exercise"
                )
        if "exercise-start" in directives:
            report.n_exercises += directives.count("exercise-start")
    if in_solution:
        report.leaks.append("a {solution-start} has no {solution-end}")

    for i, cell in enumerate(cells):
        if "exercise-end" not in _directives(cell):
            continue
        label = _exercise_label(cells, i)
        name = f"exercise {label!r} (cell {i})"
        scaffold = cells[i + 1] if i + 1 < len(cells) else None
        if scaffold is None or SCAFFOLD_TAG not in _tags(scaffold):
            report.format.append(
                f"{name} is not followed by a code cell tagged `scaffold` (blanks `...`)"
            )
            continue
        if scaffold.cell_type != "code":
            report.format.append(f"{name}: its scaffold (cell {i + 1}) is not a code cell")
            continue
        if SOLUTION_TAG in _tags(scaffold):
            report.leaks.append(f"{name}: its scaffold (cell {i + 1}) is tagged `solution`")
        report.format += [
            f"{name}: its scaffold (cell {i + 1}) {p}" for p in _scaffold_problems(scaffold.source)
        ]
        after = cells[i + 2] if i + 2 < len(cells) else None
        if after is None or "solution-start" not in _directives(after):
            report.format.append(
                f"{name}: the cell after its scaffold (cell {i + 2}) does not open its solution"
            )
    report.format += _uses_of_solution_names(cells)
    if report.n_exercises and not any(
        _PROJECT.search(c.source)
        for c in cells
        if c.cell_type == "markdown" and SOLUTION_TAG not in _tags(c)
    ):
        report.format.append("no open-ended project (a markdown heading with 'Project')")
    return report


def _names(source: str) -> tuple[set[str], set[str]]:
    """``(defined, used)``: names a cell binds and names it reads (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    defined, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return defined, used


def _uses_of_solution_names(cells) -> list[str]:
    """Cells that read a name only a solution has defined: they fail in the student edition.

    A static check (the student book build, which executes the notebooks, is the proof):
    a name bound in a solution cell and not in any cell before it that the student edition
    keeps, then read by a later kept cell, is reported with the cell that reads it.
    """
    kept_defined: set[str] = set()
    solution_only: set[str] = set()
    problems = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        defined, used = _names(cell.source)
        if SOLUTION_TAG in _tags(cell):
            solution_only |= defined - kept_defined
            continue
        needed = sorted((used & solution_only) - defined)
        if needed:
            names = ", ".join(f"`{n}`" for n in needed)
            problems.append(
                f"cell {i} reads {names}, which only a solution defines: "
                "the student edition cannot run it"
            )
        kept_defined |= defined
        solution_only -= defined
    return problems


def _exercise_label(cells, end: int) -> str:
    """The ``:label:`` of the exercise that ends in cell ``end`` (searched backwards)."""
    for j in range(end, -1, -1):
        source = cells[j].source if cells[j].cell_type == "markdown" else ""
        start = source.rfind("{exercise-start}")
        if start >= 0:
            m = re.search(r":label:\s*(\S+)", source[start:])
            return m[1] if m else "?"
    return "?"


def student_notebook(nb):
    """The notebook without its solution cells, outputs cleared.

    Every cell tagged ``solution`` is removed; the others are kept in order, with their
    sources and tags. Outputs and execution counts are cleared and the jupytext pairing
    dropped, so the file stands alone.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The full notebook; it is not changed.

    Returns
    -------
    nbformat.NotebookNode

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> nb = new_notebook(cells=[
    ...     new_code_cell("x = ...", metadata={"tags": ["scaffold"]}),
    ...     new_code_cell("x = 2", metadata={"tags": ["solution"]}),
    ... ])
    >>> [c.source for c in student_notebook(nb).cells]
    ['x = ...']
    """
    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if SOLUTION_TAG not in _tags(c)]
    for cell in out.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    out.metadata.pop("jupytext", None)
    return out


def solution_lines(nb) -> set[str]:
    """The lines of solution cells that appear in no other cell (stripped, not blank).

    These are the lines a student must not see. A line a solution shares with the rest of
    the notebook (an import, ``plt.show()``, a setting the scaffold gives) is not counted.

    Examples
    --------
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> nb = new_notebook(cells=[
    ...     new_code_cell("n = 10\\ntotal = ...", metadata={"tags": ["scaffold"]}),
    ...     new_code_cell("n = 10\\ntotal = n * (n + 1) // 2", metadata={"tags": ["solution"]}),
    ... ])
    >>> sorted(solution_lines(nb))
    ['total = n * (n + 1) // 2']
    """

    def lines(cells) -> set[str]:
        return {line.strip() for c in cells for line in c.source.splitlines() if line.strip()}

    solution = [c for c in nb.cells if SOLUTION_TAG in _tags(c)]
    rest = [c for c in nb.cells if SOLUTION_TAG not in _tags(c)]
    return lines(solution) - lines(rest)


def book_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks ``_toc.yml`` names, in its order (``.ipynb`` paths)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    entries = [e["file"] for part in _toc_parts(toc) for e in part]
    return [root / f"{e}.ipynb" for e in entries if (root / f"{e}.ipynb").exists()]


def _toc_parts(toc: dict) -> list[list[dict]]:
    if "parts" in toc:
        return [p.get("chapters", []) for p in toc["parts"]]
    return [toc.get("chapters", [])]


def _book_pages(root: Path) -> list[Path]:
    """The non-notebook pages ``_toc.yml`` names (the root page included)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"], *(e["file"] for part in _toc_parts(toc) for e in part)]
    pages = []
    for f in files:
        for suffix in (".md", ".rst"):
            if (root / f"{f}{suffix}").exists():
                pages.append(Path(f"{f}{suffix}"))
    return pages


def _student_config(config: dict) -> dict:
    config = copy.deepcopy(config)
    config["title"] = f"{config.get('title', 'Book')} (student edition)"
    return config


def write_student_edition(
    out: Path, *, root: Path = ROOT, strict: bool = False
) -> dict[str, Report]:
    """Write the student notebooks and the student book's sources under ``out``.

    Parameters
    ----------
    out : Path
        Folder of the student edition (``_student``); its ``notebooks/`` folder and book
        sources are replaced, its ``_build`` (the execution cache) is kept.
    root : Path
        The book's root (the repository).
    strict : bool
        Refuse to write when a notebook has format problems, not only leaks.

    Returns
    -------
    dict
        Each notebook's :class:`Report`, by file name.

    Raises
    ------
    ValueError
        If a notebook would leak a solution (or, with ``strict``, breaks the format); the
        message lists every problem.
    """
    notebooks = book_notebooks(root)
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    unsynced = [
        e["file"]
        for part in _toc_parts(toc)
        for e in part
        if (root / f"{e['file']}.py").exists() and not (root / f"{e['file']}.ipynb").exists()
    ]
    if unsynced:
        raise ValueError(
            "chapters with a jupytext twin but no notebook (run `jupytext --sync`): "
            + ", ".join(unsynced)
        )
    reports, fulls = {}, {}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        fulls[path] = nb
        reports[path.name] = check_exercises(nb)
    bad = {
        name: r.leaks + (r.format if strict else [])
        for name, r in reports.items()
        if r.leaks or (strict and r.format)
    }
    if bad:
        lines = [f"{name}: {p}" for name, problems in bad.items() for p in problems]
        raise ValueError("the student edition would be wrong:\n  " + "\n  ".join(lines))

    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "notebooks", ignore_errors=True)
    for path, nb in fulls.items():
        target = out / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_notebook(nb), target)
    for name in (*BOOK_FILES, *map(str, _book_pages(root))):
        if (root / name).exists():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, out / name)
    for name in BOOK_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
        if (root / name).is_dir():
            shutil.copytree(root / name, out / name, ignore=shutil.ignore_patterns("__pycache__"))
    config = yaml.safe_load((root / "_config.yml").read_text())
    (out / "_config.yml").write_text(
        "# Written by tools/student_edition.py from the book's _config.yml: do not edit.\n"
        + yaml.safe_dump(_student_config(config), sort_keys=False, allow_unicode=True)
    )
    intro = out / _book_pages(root)[0]
    text = intro.read_text()
    title_end = text.index("\n") + 1 if text.startswith("#") else 0
    intro.write_text(text[:title_end] + STUDENT_NOTE + text[title_end:])
    return reports


def build_book(out: Path) -> int:
    """``jupyter-book build <out> -W -n --keep-going``; its return code."""
    jb = Path(sys.executable).with_name("jupyter-book")
    command = [str(jb if jb.exists() else "jupyter-book"), "build", str(out)]
    return subprocess.call([*command, "-W", "-n", "--keep-going"])


def check_site(html: Path) -> list[str]:
    """Problems in a built student site: any solution in its pages or notebook sources."""
    problems = []
    for page in sorted(html.rglob("*.html")):
        text = page.read_text(encoding="utf8", errors="replace")
        if re.search(r'class="[^"]*\bsolution\b', text):
            problems.append(f"{page.relative_to(html)} shows a solution")
    for source in sorted(html.rglob("*.ipynb")):
        nb = nbformat.read(source, as_version=4)
        if any(SOLUTION_TAG in _tags(c) for c in nb.cells) or any(
            d.startswith("solution") for c in nb.cells for d in _directives(c)
        ):
            problems.append(f"{source.relative_to(html)} holds a solution")
    return problems


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_student", help="default: _student")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book (default: this repo)")
    parser.add_argument("--no-book", action="store_true", help="write the notebooks only")
    parser.add_argument("--strict", action="store_true", help="format problems stop it too")
    args = parser.parse_args(argv)
    try:
        reports = write_student_edition(args.out, root=args.root.resolve(), strict=args.strict)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    for name, r in reports.items():
        print(f"{name}: {r.n_exercises} exercises, {r.n_solution_cells} solution cells removed")
        for p in r.format:
            print(f"  format: {p}")
    print(f"student notebooks: {args.out / 'notebooks'}")
    if args.no_book:
        return 0
    code = build_book(args.out)
    if code:
        return code
    html = args.out / "_build" / "html"
    problems = check_site(html)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"student book: {html / 'index.html'} (no solutions in its pages or sources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
