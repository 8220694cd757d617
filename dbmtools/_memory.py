"""Memory guard shared by every allocating function (DESIGN.md section 2).

A run is estimated before anything is allocated and refused with a
``MemoryError`` that says what it needs, which limit it meets, and which
argument to change. The limit is the tightest of the ones in force for this
process: the machine's available memory (``MemAvailable``), the address-space
limit (``RLIMIT_AS``, as set by ``ulimit -v``) minus what the process has
mapped already, and the memory limit of its control group (cgroup v2
``memory.max``, or v1 ``memory.limit_in_bytes``, as set by containers) minus
what the group uses.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Bytes below which an allocation is not checked (reading the limits costs ~0.1 ms).
CHECK_ABOVE = 2**26

_GIB = 2.0**30


def _read_int(path: Path | str) -> int | None:
    try:
        text = Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None  # "max" means no limit


def _proc_field(path: str, key: str) -> int | None:
    """A ``kB`` field of a ``/proc`` status file, in bytes."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _machine_available() -> int | None:
    available = _proc_field("/proc/meminfo", "MemAvailable")
    if available is not None:
        return available
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_headroom() -> int | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = _proc_field("/proc/self/status", "VmSize") or 0
    return max(soft - mapped, 0)


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Headroom under the tightest memory limit of this process's control groups."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    best = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: check the group and every parent
            group = root / path.lstrip("/")
            while True:
                limit = _read_int(group / "memory.max")
                if limit is not None:
                    used = _read_int(group / "memory.current") or 0
                    best = _tighter(best, max(limit - used, 0))
                if group == root or root not in group.parents:
                    break
                group = group.parent
        elif "memory" in controllers.split(","):  # v1
            group = root / "memory" / path.lstrip("/")
            limit = _read_int(group / "memory.limit_in_bytes")
            if limit is not None and limit < 2**60:  # v1 writes a huge number for none
                used = _read_int(group / "memory.usage_in_bytes") or 0
                best = _tighter(best, max(limit - used, 0))
    return best


def _tighter(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def memory_limit() -> tuple[int | None, str]:
    """Bytes a new allocation can take, and the name of the limit that sets it.

    Returns ``(None, "")`` where no limit can be read.

    Examples
    --------
    >>> available, which = memory_limit()
    >>> available is None or available >= 0
    True
    """
    candidates = [
        (_machine_available(), "available memory"),
        (_address_space_headroom(), "address-space limit (RLIMIT_AS, ulimit -v)"),
        (_cgroup_headroom(), "control-group memory limit"),
    ]
    known = [(b, name) for b, name in candidates if b is not None]
    if not known:
        return None, ""
    return min(known, key=lambda c: c[0])


def check_memory(n_bytes: float, what: str, advice: str) -> None:
    """Raise ``MemoryError`` if ``n_bytes`` do not fit under the tightest limit.

    Parameters
    ----------
    n_bytes : float
        Estimated size of what the call allocates (a float, so that huge sizes
        cannot overflow).
    what : str
        What the call allocates, in the caller's terms (its arguments).
    advice : str
        Which argument to change.

    Examples
    --------
    >>> check_memory(1e3, "a small array", "")
    >>> check_memory(1e30, "1e30 sites", "Use a smaller `n_sites`.")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    MemoryError: This call needs about 9.31e+20 GiB ...
    """
    if n_bytes < CHECK_ABOVE:
        return
    available, which = memory_limit()
    if available is None or n_bytes <= available:
        return
    raise MemoryError(
        f"This call needs about {n_bytes / _GIB:.3g} GiB for {what}, but the {which} leaves "
        f"{available / _GIB:.3g} GiB. {advice}".rstrip()
    )
