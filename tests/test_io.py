"""Files (issue 16, item 5): one suffix rule, atomic writes, loads that name the file.

Every ``save``/``load`` of the package goes through ``dbmtools._io``; these
tests run each rule on the module and on the classes that use it.
"""

import os
import zipfile

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools import _io
from dbmtools.hermite import HermiteGrid


def _trajectory():
    s0 = dbm.random_state(20, densities=[0.5], seed=0)
    return dbm.simulate(s0, dbm.annihilation(0.5), n_steps=4, dt=0.01, seed=1)


def _grid():
    g = HermiteGrid([0.0, 0.0], [1.0, 1.0], 0.5)
    g.coeffs = np.random.default_rng(0).normal(size=g.coeffs.shape)
    return g


SAVERS = [
    (_trajectory, dbm.Trajectory, lambda a, b: np.array_equal(a.states, b.states)),
    (_grid, HermiteGrid, lambda a, b: np.array_equal(a.coeffs, b.coeffs)),
]


@pytest.mark.parametrize(("make", "cls", "same"), SAVERS)
@pytest.mark.parametrize("name", ["x.dat", "x", "x.npz", "x.tar.gz"])
def test_save_and_load_name_the_same_file(tmp_path, make, cls, same, name):
    """Issue 16: save("x.dat") wrote x.dat.npz and load("x.dat") then failed."""
    obj = make()
    obj.save(tmp_path / name)
    assert os.listdir(tmp_path) == [name]  # exactly that file, no suffix, no temporary left
    assert same(cls.load(tmp_path / name), obj)
    assert same(cls.load(str(tmp_path / name)), obj)


@pytest.mark.parametrize(("make", "cls", "same"), SAVERS)
def test_bad_files_are_named(tmp_path, make, cls, same):
    """Issue 16: truncated or empty files gave bare BadZipFile / EOFError / KeyError."""
    good = tmp_path / "good.npz"
    make().save(good)
    data = good.read_bytes()
    cases = {
        "empty.npz": b"",
        "truncated.npz": data[: len(data) // 2],
        "text.npz": b"hello, not a zip archive\n",
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=name):
            cls.load(tmp_path / name)
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single.npy"):
        cls.load(tmp_path / "single.npy")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match=f"foreign.npz.*not a {cls.__name__} file"):
        cls.load(tmp_path / "foreign.npz")
    with zipfile.ZipFile(good) as z:  # drop one array: KeyError before
        members = {n: z.read(n) for n in z.namelist()}
    victim = [n for n in members if n not in ("kind.npy", "meta.npy")][0]
    with zipfile.ZipFile(tmp_path / "missing.npz", "w") as z:
        for n, b in members.items():
            if n != victim:
                z.writestr(n, b)
    with pytest.raises(ValueError, match=rf"missing.npz' lacks the array\(s\) \['{victim[:-4]}'\]"):
        cls.load(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        cls.load(tmp_path / "nothing.npz")


def test_other_kinds_and_pickles_are_refused(tmp_path):
    _grid().save(tmp_path / "grid.npz")
    with pytest.raises(ValueError, match="holds a HermiteGrid, not a Trajectory"):
        dbm.Trajectory.load(tmp_path / "grid.npz")
    np.savez(
        tmp_path / "pickled.npz",
        kind=np.array("Trajectory"),
        meta=np.array("{}"),
        times=np.array([0.0]),
        states=np.array([object()], dtype=object),
    )
    with pytest.raises(ValueError, match="pickled.npz"):
        dbm.Trajectory.load(tmp_path / "pickled.npz")
    with pytest.raises(TypeError, match="Python objects"):
        _io.save_npz(tmp_path / "o.npz", "X", {"a": np.array([object()], dtype=object)})


def test_writes_are_atomic(tmp_path, monkeypatch):
    """An interrupted write leaves the old file whole and no temporary behind."""
    path = tmp_path / "traj.npz"
    traj = _trajectory()
    traj.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        traj.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["traj.npz"]


def test_the_folder_is_checked_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="the folder .* does not exist"):
        _trajectory().save(tmp_path / "no" / "such" / "x.npz")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        _io.check_writable(tmp_path, name="checkpoint_path")
    assert _io.check_writable(tmp_path / "ok.npz") == tmp_path / "ok.npz"
    with pytest.raises(TypeError, match="`path` must be a file path"):
        _io.check_writable(3)


def test_json_ready_meta():
    meta = {"a": np.int32(1), "b": [np.float64(0.5), {"c": np.bool_(False)}], "d": None}
    assert _io.json_ready(meta) == {"a": 1, "b": [0.5, {"c": False}], "d": None}
    with pytest.raises(TypeError, match=r"`meta\['b'\]\[0\]` must be JSON-ready"):
        _io.json_ready({"b": [object()]})
    with pytest.raises(TypeError, match="`meta` must be a dict"):
        _io.json_ready([1])
