"""Small Sphinx fixes for the Jupyter Book (v1) build.

``sphinx-thebe`` registers its inline configuration script once per read of
the documents, and a Jupyter Book build reads them more than once, so every
page declared ``const THEBE_JS_URL`` twice: a console error in every browser.
This extension drops repeated script entries from each page's context.
"""

from __future__ import annotations


def _script_key(js) -> tuple:
    attributes = getattr(js, "attributes", {}) or {}
    # an inline script's filename is None or "" depending on who registered it
    return (getattr(js, "filename", str(js)) or "", tuple(sorted(attributes.items())))


def _drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for js in scripts:
        key = _script_key(js)
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
