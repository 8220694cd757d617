"""Settings shared by every module: numba decorators and progress bars.

One place for the numba options (DESIGN.md section 2): kernels are compiled with
``cache=True`` so a second run starts warm, and ``fastmath=False`` so results do
not depend on instruction reordering.
"""

from __future__ import annotations

import os
from functools import partial

import numba

#: Serial kernel: ``@njit``.
njit = partial(numba.njit, cache=True, fastmath=False)
#: Kernel with a ``prange`` over independent samples.
pjit = partial(numba.njit, cache=True, fastmath=False, parallel=True)


def show_progress(progress: bool) -> bool:
    """Return whether a progress bar should be shown.

    Progress bars are off when ``progress`` is false, and always off under CI
    (the ``CI`` environment variable) or when ``TQDM_DISABLE`` is set: inside a
    Jupyter kernel ``tqdm.auto`` ignores ``TQDM_DISABLE`` by itself.
    """
    if not progress:
        return False
    for name in ("CI", "TQDM_DISABLE"):
        if os.environ.get(name, "").strip().lower() not in ("", "0", "false"):
            return False
    return True
