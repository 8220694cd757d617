"""The package's layout rules (DESIGN.md section 1, issue 11), read from the source with ``ast``.

* No module imports another in a circle, counting imports inside functions too
  (a circle through a function-level import is still a circle for a reader).
* A public name is never defined in a ``_``-prefixed module and re-exported:
  every name in a module's ``__all__`` is defined there, or is a submodule.
* Generic machinery never imports an experiment of the paper (``annihilation1d``,
  ``rossler3d``); only the figures, the sliders and the package's ``__init__`` may.
* ``import dbmtools`` imports neither matplotlib nor ipywidgets.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dbmtools"
EXPERIMENTS = {"dbmtools.annihilation1d", "dbmtools.rossler3d"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The dbmtools modules an ``from ... import ...`` statement in ``module`` reads."""
    if node.level:
        base = module.split(".")
        if not _is_package(module):
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    if not prefix.startswith("dbmtools"):
        return []
    found = []
    for alias in node.names:
        sub = f"{prefix}.{alias.name}"
        found.append(sub if sub in MODULES else prefix)
    return [m for m in found if m in MODULES]


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.update(_resolve(module, node))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in MODULES)
    out.discard(module)
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def _cycle_from(start: str) -> list[str] | None:
    """A path start -> ... -> start in the import graph (package __init__s left out)."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == "dbmtools":
                continue  # the package __init__ imports everything by design
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "dbmtools"))
def test_no_import_cycle(module):
    cycle = _cycle_from(module)
    assert cycle is None, " -> ".join(cycle)


def _defined_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _imported_from(module: str, tree: ast.Module) -> dict[str, str]:
    """Name -> the dbmtools module it was imported from (module level)."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for target, alias in zip(_resolve(module, node), node.names, strict=False):
                out[alias.asname or alias.name] = target
    return out


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if not any(p.startswith("_") for p in m.split(".")))
)
def test_public_names_are_defined_in_public_modules(module):
    mod = importlib.import_module(module)
    assert hasattr(mod, "__all__"), f"{module} has no __all__"
    tree = ast.parse(MODULES[module].read_text())
    imported = _imported_from(module, tree)
    for name in mod.__all__:
        obj = getattr(mod, name)
        if isinstance(obj, types.ModuleType):
            where = obj.__name__
        elif getattr(obj, "__module__", None) and not isinstance(obj, (str, tuple, list, dict)):
            where = obj.__module__
        else:  # a constant: defined here, or imported from the module named in the import
            where = imported.get(name, module)
            assert name in imported or name in _defined_names(tree), (module, name)
        private = [p for p in where.split(".")[1:] if p.startswith("_")]
        assert not private, f"{module} exports {name!r}, defined in private module {where}"


def test_generic_modules_do_not_import_the_experiments():
    allowed = EXPERIMENTS | {"dbmtools", "dbmtools.widgets"}
    for module, deps in GRAPH.items():
        if module in allowed or module.startswith("dbmtools.plotting"):
            continue
        assert not deps & EXPERIMENTS, (module, sorted(deps & EXPERIMENTS))


def test_import_dbmtools_loads_no_matplotlib_or_ipywidgets():
    code = (
        "import sys, dbmtools; "
        "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_modules_load_on_first_use():
    code = "import dbmtools; print(dbmtools.plotting.__name__, dbmtools.widgets.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["dbmtools.plotting", "dbmtools.widgets"]
