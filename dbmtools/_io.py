"""Files: the one way every ``save``/``load`` of the package reads and writes.

A saved object is one ``.npz`` archive holding its arrays, a ``kind`` tag (the
class name) and ``meta``, a JSON string. Four helpers, used by every
``save``/``load`` (Trajectory, Ensemble, HermiteGrid, ParameterODE, ...):

* :func:`save_npz` writes atomically: a temporary file in the same folder,
  then :func:`os.replace`, so an interrupted write never leaves a truncated
  file behind (the old file, if any, stays whole). The file is written to
  exactly ``path``: no suffix is added, so ``save("x.dat")`` and
  ``load("x.dat")`` name the same file (``.npz`` is the convention).
* :func:`load_npz` reads with ``allow_pickle=False`` and turns every way a
  file can be wrong (empty, truncated, not an ``.npz``, another kind, a missing
  array, bad JSON) into a ``ValueError`` that names the file. The caller then
  builds its object through its constructor, so loads are validated exactly as
  constructions.
* :func:`json_ready` converts numpy scalars and arrays in metadata to plain
  Python (``np.int64(3)`` -> ``3``) and refuses what JSON cannot hold.
* :func:`check_writable` checks up front that a file can be written in a
  folder (e.g. a checkpoint path, before hours of training).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_writable", "json_ready", "load_npz", "save_npz"]


def json_ready(meta: Mapping[str, Any], *, name: str = "meta") -> dict[str, Any]:
    """Return a copy of ``meta`` with numpy scalars and arrays as plain Python.

    Raises ``TypeError`` naming the entry that JSON cannot hold (keys must be
    strings; values numbers, strings, bools, None, lists or dicts of them).

    Examples
    --------
    >>> json_ready({"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(2)})
    {'n': 3, 'x': 0.5, 'v': [0, 1]}
    >>> json_ready({"f": print})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: `meta['f']` must be JSON-ready (numbers, strings, lists, dicts); got <built-in ...
    """
    if not isinstance(meta, Mapping):
        raise TypeError(f"`{name}` must be a dict; got {type(meta).__name__}.")
    return _plain(meta, name)


def _plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"`{where}` keys must be strings; got {k!r}.")
            out[k] = _plain(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(
        f"`{where}` must be JSON-ready (numbers, strings, lists, dicts); got {value!r}."
    )


def check_writable(path: str | os.PathLike, *, name: str = "path") -> Path:
    """Return ``path`` as a Path if a file can be written there, else raise.

    The folder must exist and be writable, and ``path`` must not be a folder.

    Examples
    --------
    >>> check_writable("/no/such/folder/x.npz")
    Traceback (most recent call last):
    ...
    FileNotFoundError: `path` '/no/such/folder/x.npz': the folder '/no/such/folder' does not exist.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a file path; got {path!r}.")
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise IsADirectoryError(f"`{name}` {os.fspath(p)!r} is a folder; give a file name.")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"`{name}` {os.fspath(p)!r}: the folder {os.fspath(folder)!r} does not exist."
        )
    if not os.access(folder, os.W_OK):
        raise PermissionError(
            f"`{name}` {os.fspath(p)!r}: the folder {os.fspath(folder)!r} is not writable."
        )
    return p


def save_npz(
    path: str | os.PathLike,
    kind: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
    *,
    compress: bool = True,
) -> Path:
    """Write ``arrays``, the ``kind`` tag and ``meta`` (as JSON) to ``path``, atomically.

    Parameters
    ----------
    path : str or PathLike
        The file, used exactly as given (no suffix is added).
    kind : str
        What the file holds, checked by :func:`load_npz` (the class name).
    arrays : mapping of str to ndarray
        Numeric arrays; object arrays are refused (they would need pickle).
    meta : dict, optional
        JSON-ready parameters (numpy scalars are converted).
    compress : bool
        ``np.savez_compressed`` (default) or ``np.savez``.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = save_npz(folder / "x.dat", "Demo", {"a": np.arange(3)}, {"n": np.int64(3)})
    >>> arrays, meta = load_npz(p, "Demo", ["a"])
    >>> p.name, arrays["a"].tolist(), meta
    ('x.dat', [0, 1, 2], {'n': 3})
    """
    p = check_writable(path)
    text = json.dumps(json_ready(meta or {}))
    payload = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise TypeError(f"Array {key!r} holds Python objects; only numeric arrays are saved.")
        payload[key] = arr
    if "kind" in payload or "meta" in payload:
        raise ValueError("Array names 'kind' and 'meta' are reserved.")
    fd, tmp = tempfile.mkstemp(
        dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compress else np.savez)(
                f, kind=np.array(kind), meta=np.array(text), **payload
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


def load_npz(
    path: str | os.PathLike, kind: str | Iterable[str], names: Iterable[str]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_npz` (``allow_pickle=False``).

    Parameters
    ----------
    path : str or PathLike
        The file, used exactly as given.
    kind : str or iterable of str
        The kind(s) accepted.
    names : iterable of str
        Arrays the file must hold; others present are returned too.

    Returns
    -------
    arrays : dict of str to ndarray
        Every array of the file, read into memory.
    meta : dict
        The decoded JSON metadata.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        Naming the file, if it is empty, truncated, not an ``.npz`` archive,
        of another kind, lacks one of ``names``, or its meta is not JSON.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a file path; got {path!r}.")
    shown = repr(os.fspath(path))
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {shown}.")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{shown} is empty: not a saved {kinds[0]}.")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            arrays = {key: data[key] for key in data.files}
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, OSError, zlib.error) as err:
        raise ValueError(
            f"{shown} cannot be read as a saved {kinds[0]} (an .npz archive): {err}. "
            "Is it truncated, or another kind of file?"
        ) from err
    if "kind" not in arrays or "meta" not in arrays:
        raise ValueError(
            f"{shown} is not a dbmtools file (no 'kind' and 'meta' entries), so not a "
            f"{' or '.join(kinds)} file."
        )
    found = str(arrays.pop("kind"))
    if found not in kinds:
        raise ValueError(f"{shown} holds a {found}, not a {' or '.join(kinds)}.")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except json.JSONDecodeError as err:
        raise ValueError(f"{shown}: its meta is not valid JSON ({err}).") from err
    if not isinstance(meta, dict):
        raise ValueError(f"{shown}: its meta must be a JSON object; got {type(meta).__name__}.")
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ValueError(f"{shown} lacks the array(s) {missing} of a {found}.")
    return arrays, meta
