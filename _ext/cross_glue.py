"""Rebuild a page that pastes glue from another document when that document changes.

``overview.md`` pastes numbers glued in the notebooks (``{glue:text}`path::key```). MyST-NB
fills such a reference in at write time from the notebook's stored glue data, but Sphinx
rewrites only the documents that changed, so after a notebook's numbers changed an
incremental build kept the old numbers on the overview page. This extension records each
referenced notebook as a dependency of the page that references it: a changed notebook
makes the page outdated, and it is read and written again with the new numbers.

It also deletes a notebook's stored glue data (``<docname>.glue.json`` in MyST-NB's output
folder) before the notebook is read again. MyST-NB writes that file only when the notebook
glues something, so a notebook that stopped gluing left its old numbers behind, and a page
pasting a key that no longer exists kept the old value instead of failing the build.
"""

from __future__ import annotations

from pathlib import Path

from myst_nb.ext.glue.utils import PendingGlueReference


def _note_glue_sources(app, doctree) -> None:
    env = app.env
    for node in doctree.findall(PendingGlueReference):
        env.note_dependency(str(env.doc2path(node.refdoc)))


def _forget_glue_data(app, env, docname) -> None:
    folder = getattr(getattr(env, "mystnb_config", None), "output_folder", None)
    if folder:
        Path(folder, f"{docname}.glue.json").unlink(missing_ok=True)


def setup(app):
    app.connect("env-purge-doc", _forget_glue_data)
    app.connect("doctree-read", _note_glue_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
