"""README's "Bring your own system" script, run verbatim: a system the package has never seen.

The script's own numbers are not pinned (they move with any change of a random stream);
what must hold is that it runs from the public API in at most 30 lines, that every closure
gives finite errors on every column, and that the intervals bracket the differences of the
condition-mean errors they summarise.
"""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _script() -> str:
    text = README.read_text()
    section = text.split("## Bring your own system", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds one script"
    return blocks[0]


def test_the_script_is_short_and_uses_only_the_public_api():
    code = _script()
    lines = [ln for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(lines) <= 30
    assert "dbmtools." not in code.replace("import dbmtools as dbm", "")  # no private modules
    assert not re.search(r"\bdbm\._", code)


def test_the_script_runs_and_scores_every_column(capsys):
    namespace: dict = {}
    exec(compile(_script(), "README.md", "exec"), namespace)  # noqa: S102
    result = namespace["result"]
    out = capsys.readouterr().out
    assert "learned - pair (95%)" in out and "noise floor" in out
    assert result.columns == ["S", "I", "(S,S)", "(S,I)", "(I,I)"]
    means = result.mean_errors()
    assert set(means) == {"learned", "mean field", "pair"}
    for err in means.values():
        assert np.isfinite(err).all() and (err > 0).all()
    for name in ("mean field", "pair"):
        diff, lo, hi = result.difference[name]
        np.testing.assert_allclose(diff, means["learned"] - means[name], rtol=1e-12)
        assert (lo <= diff).all() and (diff <= hi).all()
