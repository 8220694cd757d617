"""Cross-document glue (MyST-NB) that neither goes stale nor loses its figures.

**Stale numbers.**
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

**Missing figures.** A glued figure pasted on another page (the intro's ``{glue}`` figures)
becomes an image node pointing at ``_images/<sha256>.png``, but MyST-NB never writes that
file: it exists only when the notebook's own page happens to show a byte-identical image.
When it does not (seen with notebook 03's figure), the page shows a broken image and the
browser a 404. After the build, every image in the stored glue data is written to
``_images`` under the name MyST-NB gives it.
"""

from __future__ import annotations

import hashlib
import json
from binascii import a2b_base64
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


IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpeg", "image/gif": ".gif"}


def _write_glued_images(app, exception) -> None:
    folder = getattr(getattr(app.env, "mystnb_config", None), "output_folder", None)
    if exception is not None or not folder or app.builder.format != "html":
        return
    images = Path(app.builder.outdir) / app.builder.imagedir
    for stored in Path(folder).rglob("*.glue.json"):
        for output in json.loads(stored.read_text()).values():
            for mime, extension in IMAGE_TYPES.items():
                if mime in output.get("data", {}):
                    data = a2b_base64(output["data"][mime])
                    target = images / f"{hashlib.sha256(data).hexdigest()}{extension}"
                    if not target.exists():
                        images.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)


def setup(app):
    app.connect("env-purge-doc", _forget_glue_data)
    app.connect("build-finished", _write_glued_images)
    app.connect("doctree-read", _note_glue_sources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
