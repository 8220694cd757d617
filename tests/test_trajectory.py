"""Trajectory and Ensemble containers: checks, observables, lossless save/load."""

import json

import numpy as np
import pytest

import dbmtools as dbm


@pytest.fixture(scope="module")
def ensemble():
    s0 = np.stack([dbm.random_state((6, 5), counts=[8, 4], seed=s) for s in range(3)])
    net = dbm.Network([("A + B -> B + B", 0.5), ("B -> 0", 1.0)])
    return dbm.simulate_ensemble(
        s0, net, n_steps=6, dt=0.1, dim=2, seed=2, record_every=2, progress=False
    )


def test_save_load_round_trip(tmp_path, ensemble):
    path = tmp_path / "ens.npz"
    ensemble.save(path)
    back = dbm.Ensemble.load(path)
    assert np.array_equal(back.states, ensemble.states) and back.states.dtype == np.int8
    assert np.array_equal(back.times, ensemble.times)
    assert back.meta == ensemble.meta and back.network == ensemble.network
    traj = ensemble[1]
    traj.save(tmp_path / "traj.npz")
    again = dbm.Trajectory.load(tmp_path / "traj.npz")
    assert np.array_equal(again.states, traj.states) and again.meta == traj.meta
    with pytest.raises(ValueError, match="holds a Trajectory, not a Ensemble"):
        dbm.Ensemble.load(tmp_path / "traj.npz")


def test_dict_round_trip(ensemble):
    back = dbm.Ensemble.from_dict(ensemble.to_dict())
    assert np.array_equal(back.states, ensemble.states) and back.meta == ensemble.meta


def test_observable_methods(ensemble):
    assert ensemble.counts().shape == (3, 4, 2)
    assert np.array_equal(ensemble[2].counts(), ensemble.counts()[2])
    assert ensemble.pair_counts().shape == (3, 4, 2, 2)
    with pytest.raises(ValueError, match="1D lattices"):
        ensemble.chain_moments()


def test_post_init_checks():
    with pytest.raises(ValueError, match="strictly increasing"):
        dbm.Trajectory(times=[0.0, 0.0], states=np.zeros((2, 4), dtype=np.int8))
    with pytest.raises(ValueError, match="records along axis 0"):
        dbm.Trajectory(times=[0.0, 1.0, 2.0], states=np.zeros((2, 4), dtype=np.int8))
    with pytest.raises(TypeError, match="integer species codes"):
        dbm.Trajectory(times=[0.0], states=np.zeros((1, 4)))
    with pytest.raises(TypeError, match=r"`meta\['x'\]` must be JSON-ready"):
        dbm.Trajectory(times=[0.0], states=np.zeros((1, 4), dtype=np.int8), meta={"x": object()})


# --- issue 16, items 5 and 7: validated on construction, and so on load ---


def _states(n=2, sites=20):
    return np.zeros((n, sites), dtype=np.int8)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"times": [0.0, np.nan]}, ValueError, "`times` must be finite; got nan"),
        ({"times": [0.0, np.inf]}, ValueError, "`times` must be finite; got inf"),
        ({"times": ["0", "1"]}, TypeError, "`times` must be real numbers"),
        ({"states": np.full((2, 20), -1)}, ValueError, r"codes in \[-1, -1\]"),
        ({"states": np.full((2, 20), 257)}, ValueError, r"codes in \[257, 257\]; allowed are 0"),
        (
            {
                "states": np.full((2, 20), 2, np.int8),
                "meta": {"network": dbm.annihilation(0.1).to_dict()},
            },
            ValueError,
            r"allowed are 0 \(empty\) to 1 \(the network's species\)",
        ),
        ({"meta": {"shape": [99]}}, ValueError, r"`meta\['shape'\]` is \[99\] but the lattices"),
        ({"meta": {"dt": 0.5, "record_every": 1}}, ValueError, r"`times` are not 0.5 x 1 apart"),
        ({"meta": {"dt": 0.5}}, ValueError, "whole multiples of `meta\\['dt'\\]`"),
        ({"meta": {"dt": -0.01}}, ValueError, r"`meta\['dt'\]` must be a finite number > 0"),
        ({"meta": {"n_steps": 5, "dt": 0.01, "record_every": 1}}, ValueError, "6 records"),
        ({"meta": {"boundary": "open"}}, ValueError, r"`meta\['boundary'\]`"),
        ({"meta": {"network": {"species": ["A"]}}}, ValueError, r"`meta\['network'\]` does not"),
        ({"meta": {1: "a"}}, TypeError, "keys must be strings"),
    ],
)
def test_construction_refuses_what_was_silently_accepted(kwargs, exc, match):
    """Issue 16: state 257 became 1, NaN times and a meta of shape [99], dt 0.5 for
    20-site states 0.01 apart were accepted."""
    args = {"times": [0.0, 0.01], "states": _states(), "meta": {}, **kwargs}
    with pytest.raises(exc, match=match):
        dbm.Trajectory(**args)


def test_numpy_scalars_in_meta_are_converted(tmp_path):
    """Issue 16: numpy integers in meta failed JSON."""
    meta = {
        "n": np.int64(3),
        "x": np.float32(0.5),
        "ok": np.bool_(True),
        "v": np.arange(2),
        "dt": np.float64(0.01),
    }
    traj = dbm.Trajectory(times=[0.0, 0.01], states=_states(), meta=meta)
    assert traj.meta == {"n": 3, "x": 0.5, "ok": True, "v": [0, 1], "dt": 0.01}
    assert type(traj.meta["n"]) is int
    traj.save(tmp_path / "t.npz")
    assert dbm.Trajectory.load(tmp_path / "t.npz").meta == traj.meta


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda a, m: a.update(states=np.full_like(a["states"], 3)), r"0 \(empty\) to 2"),
        (lambda a, m: a.update(states=a["states"].astype(np.int16) + 257), r"\[257,"),
        (lambda a, m: a.update(times=a["times"] * np.nan), "`times` must be finite"),
        (lambda a, m: m.update(shape=[99]), r"`meta\['shape'\]` is \[99\]"),
        (lambda a, m: m.update(dt=0.5), "not 0.5 x 2 apart"),
        (lambda a, m: m.update(record_every=1.7), r"`meta\['record_every'\]` must be an int"),
    ],
)
def test_load_validates_exactly_as_construction(tmp_path, ensemble, edit, match):
    """A file edited behind the class's back is refused on load, naming the file."""
    arrays = {"times": ensemble.times.copy(), "states": ensemble[0].states.copy()}
    meta = dict(ensemble.meta)
    edit(arrays, meta)
    path = tmp_path / "edited.npz"
    np.savez(path, kind=np.array("Trajectory"), meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ValueError, match=match) as err:
        dbm.Trajectory.load(path)
    assert "edited.npz" in str(err.value)


def test_interrupted_ensembles_save_and_load(tmp_path):
    states = np.stack([dbm.random_state(30, densities=[0.5], seed=k) for k in range(4)])
    ens = dbm.simulate_ensemble(
        states, dbm.annihilation(0.5), n_steps=4, dt=0.01, dim=1, seed=1, progress=False
    )
    part = dbm.Ensemble(
        times=ens.times,
        states=ens.states[:2],
        meta={**ens.meta, "interrupted": True, "n_requested": 4},
    )
    part.save(tmp_path / "part.npz")
    back = dbm.Ensemble.load(tmp_path / "part.npz")
    assert back.meta["interrupted"] and back.n_samples == 2


def test_moment_ensemble_round_trip_and_checks(tmp_path):
    states = np.stack([dbm.random_state(30, densities=[0.5], seed=k) for k in range(3)])
    m = dbm.simulate_ensemble(
        states,
        dbm.annihilation(0.5),
        n_steps=4,
        dt=0.01,
        dim=1,
        seed=1,
        record=["counts", "chain_moments"],
        max_order=3,
        progress=False,
    )
    assert len(m) == 3 and m.chain_moments().shape == (3, 5, 3)
    m.save(tmp_path / "m.npz")
    back = dbm.MomentEnsemble.load(tmp_path / "m.npz")
    assert back.meta == m.meta and np.array_equal(back.counts(), m.counts())
    again = dbm.MomentEnsemble.from_dict(m.to_dict())
    assert np.array_equal(again.chain_moments(2), m.chain_moments(2))
    with pytest.raises(ValueError, match=r"`max_order` must be an integer in \[1, 3\]"):
        m.chain_moments(4)
    with pytest.raises(ValueError, match=r"`moments\['counts'\]` must have shape \(3, 5, 1\)"):
        dbm.MomentEnsemble(times=m.times, moments={"counts": m.counts()[:, :4]}, meta=m.meta)
    with pytest.raises(ValueError, match="must be >= 0"):
        dbm.MomentEnsemble(times=m.times, moments={"counts": -m.counts()}, meta=m.meta)
    with pytest.raises(ValueError, match="`meta` must hold 'network'"):
        dbm.MomentTrajectory(times=m.times, moments={"counts": m.counts()[0]}, meta={})
    with pytest.raises(ValueError, match="holds a MomentEnsemble, not a MomentTrajectory"):
        dbm.MomentTrajectory.load(tmp_path / "m.npz")
