"""Trajectory and Ensemble containers: checks, observables, lossless save/load."""

import numpy as np
import pytest

import dbmtools as dbm


@pytest.fixture(scope="module")
def ensemble():
    s0 = np.stack([dbm.random_state((6, 5), counts=[8, 4], seed=s) for s in range(3)])
    net = dbm.Network([("A + B -> B + B", 0.5), ("B -> 0", 1.0)])
    return dbm.simulate_ensemble(s0, net, n_steps=6, dt=0.1, seed=2, record_every=2, progress=False)


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
    with pytest.raises(TypeError):
        dbm.Trajectory(times=[0.0], states=np.zeros((1, 4), dtype=np.int8), meta={"x": object()})
