"""Keep pytest from importing the notebooks' jupytext twins as modules.

``--doctest-modules`` imports every ``.py`` under the test paths; the
``notebooks/*.py`` files are the notebooks' py:percent twins, which nbval
already runs through their ``.ipynb`` form.
"""

import os

collect_ignore_glob = ["notebooks/*.py", "_build/*", "_student/*"]

# Progress bars are noise in test logs (DESIGN.md section 2: off under CI).
os.environ.setdefault("TQDM_DISABLE", "1")
