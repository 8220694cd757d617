"""Rebuild a page that pastes glue from another document when that document changes.

``overview.md`` pastes numbers glued in the notebooks (``{glue:text}`path::key```). MyST-NB
fills such a reference in at write time from the notebook's stored glue data, but Sphinx
rewrites only the documents that changed, so after a notebook's numbers changed an
incremental build kept the old numbers on the overview page. This extension records each
referenced notebook as a dependency of the page that references it: a changed notebook
makes the page outdated, and it is read and written again with the new numbers.
"""

from __future__ import annotations

from myst_nb.ext.glue.utils import PendingGlueReference


def _note_glue_sources(app, doctree) -> None:
    env = app.env
    for node in doctree.findall(PendingGlueReference):
        env.note_dependency(str(env.doc2path(node.refdoc)))


def setup(app):
    app.connect("doctree-read", _note_glue_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
