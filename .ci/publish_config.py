"""Write the book's configuration for a published build: ``_config.yml`` plus launch buttons.

The sources name no repository URL, so a local build has no repository, issues, Binder or
Colab button. The publishing workflow (``.github/workflows/ci.yml``) runs this script to
write a copy of ``_config.yml`` with the repository it runs in, and builds from that copy::

    python .ci/publish_config.py _build/publish_config.yml [--url URL] [--branch BRANCH]
    jupyter-book build . --config _build/publish_config.yml -W -n --keep-going

``URL`` defaults to ``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`` and ``BRANCH`` to
``$GITHUB_REF_NAME`` (both set by GitHub Actions). What the copy adds (``OVERLAY``):

* ``repository``: the URL and branch, so the repository and issues buttons point there;
* ``launch_buttons``: Binder (opening JupyterLab; Binder installs from ``binder/``) and
  Colab (each notebook's first code cell installs ``dbmtools`` when it runs there).

Relative paths of local Sphinx extensions are made absolute, so the copy may live anywhere.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BINDER_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"
# Colab opens notebooks from GitHub only; Binder's gh/ provider needs owner/name too
GITHUB_REPO = re.compile(r"^https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)(?:\.git)?/?$")


def overlay(url: str, branch: str) -> dict:
    """The settings a published build adds to ``_config.yml``."""
    match = GITHUB_REPO.match(url)
    if not match:
        raise ValueError(f"`url` must be https://github.com/OWNER/NAME; got {url!r}.")
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"`branch` must be a branch name; got {branch!r}.")
    return {
        "repository": {
            "url": f"https://github.com/{match[1]}/{match[2]}",
            "branch": branch,
            "path_to_book": "",
        },
        "html": {"use_repository_button": True, "use_issues_button": True},
        "launch_buttons": {
            "notebook_interface": "jupyterlab",
            "binderhub_url": BINDER_URL,
            "colab_url": COLAB_URL,
        },
    }


def merge(base: dict, extra: dict) -> dict:
    """``base`` updated recursively by ``extra`` (neither is changed)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def publish_config(url: str, branch: str, source: Path = ROOT / "_config.yml") -> dict:
    """``source`` (the book's ``_config.yml``) with the launch buttons of ``url``/``branch``."""
    config = merge(yaml.safe_load(source.read_text(encoding="utf8")), overlay(url, branch))
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in local.items():
        local[name] = str((source.parent / path).resolve())
    return config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="where to write the configuration")
    parser.add_argument("--url", help="repository URL (default: from GitHub Actions)")
    parser.add_argument("--branch", help="branch the buttons open (default: from GitHub Actions)")
    args = parser.parse_args(argv)
    url = args.url
    if url is None and os.environ.get("GITHUB_REPOSITORY"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{os.environ['GITHUB_REPOSITORY']}"
    branch = args.branch or os.environ.get("GITHUB_REF_NAME")
    if not url or not branch:
        parser.error("give --url and --branch (or run inside GitHub Actions)")
    config = publish_config(url, branch)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        "# Written by .ci/publish_config.py: _config.yml plus launch buttons. Do not edit.\n"
        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        encoding="utf8",
    )
    print(f"wrote {args.output}: buttons for {config['repository']['url']} @ {branch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
