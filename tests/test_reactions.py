"""Reaction networks: parsing, validation, kernel tables and presets."""

import numpy as np
import pytest

import dbmtools as dbm
from dbmtools.reactions import Reaction


def test_parse_kinds():
    assert Reaction.parse("A -> 0", rate=1).kind == "decay"
    assert Reaction.parse("A -> B", rate=1).kind == "conversion"
    assert Reaction.parse("A -> A + A", rate=1).kind == "birth"
    r = Reaction.parse("A + B -> B + B", prob=0.4)
    assert r.kind == "collision" and r.reactants == ("A", "B") and r.products == ("B", "B")
    assert Reaction.parse("A + C -> 0", prob=0.2).products == ()


def test_tuple_form_picks_rate_or_prob():
    net = dbm.Network([("A -> A + A", 30.0), ("A + A -> A", 0.1)])
    assert net.reactions[0].rate == 30.0 and net.reactions[0].prob is None
    assert net.reactions[1].prob == 0.1 and net.reactions[1].rate is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"equation": "A -> 0", "rate": -1.0}, "rate.*>= 0"),
        ({"equation": "A -> 0", "rate": np.inf}, "rate.*finite"),
        ({"equation": "A + A -> 0", "prob": 1.5}, r"prob.*\[0, 1\]"),
        ({"equation": "A + A -> 0", "prob": -0.1}, r"prob.*\[0, 1\]"),
        ({"equation": "A + A -> 0", "prob": np.nan}, r"prob.*\[0, 1\]"),
        ({"equation": "A + A -> 0", "rate": 1.0}, "give `prob`"),
        ({"equation": "A -> 0", "prob": 0.5}, "give `rate`"),
        ({"equation": "A -> B + C", "rate": 1.0}, "unimolecular reactions must be"),
        ({"equation": "A -> B + B", "rate": 1.0}, "unimolecular reactions must be"),
        ({"equation": "A + B -> A + B + C", "prob": 0.5}, "at most two products"),
        ({"equation": "A + B + C -> 0", "prob": 0.5}, "only uni- and bimolecular"),
        ({"equation": "A => B", "rate": 1.0}, "uses the arrow `=>`; write `->`"),
        ({"equation": "A -> B -> C", "rate": 1.0}, "exactly one `->`"),
        ({"equation": "A -> ", "rate": 1.0}, "empty side"),
        ({"equation": "1A -> 0", "rate": 1.0}, "not valid"),
    ],
)
def test_bad_reactions(kwargs, match):
    eq = kwargs.pop("equation")
    with pytest.raises(ValueError, match=match):
        Reaction.parse(eq, **kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="rate.*number"):
        Reaction.parse("A -> 0", rate="fast")
    with pytest.raises(TypeError, match="equation"):
        Reaction.parse(3, rate=1.0)
    with pytest.raises(TypeError, match="Each reaction"):
        dbm.Network([("A -> 0",)])


def test_network_validation():
    with pytest.raises(ValueError, match="not in `species`"):
        dbm.Network([("A + B -> B + B", 0.4)], species=["A"])
    with pytest.raises(ValueError, match="Duplicate reaction"):
        dbm.Network([("A + B -> B + B", 0.4), ("B + A -> B + B", 0.1)])
    with pytest.raises(ValueError, match="at most 127 species"):
        dbm.Network([], species=[f"S{i}" for i in range(128)])
    with pytest.raises(ValueError, match="at least one species"):
        dbm.Network([])
    with pytest.raises(ValueError, match="duplicate name"):
        dbm.Network([], species=["A", "A"])
    with pytest.raises(TypeError, match="sequence of names"):
        dbm.Network([], species="AB")
    assert dbm.Network([], species=[f"S{i}" for i in range(127)]).n_species == 127


def test_species_order_and_codes():
    net = dbm.Network([("B -> 0", 1.0), ("A + B -> B + B", 0.4)])
    assert net.species == ("B", "A")
    assert net.code("A") == 2
    with pytest.raises(ValueError, match="Unknown species"):
        net.code("C")
    net = dbm.Network([("B -> 0", 1.0)], species=["A", "B", "C"])
    assert net.code("B") == 2


def test_tables_cover_both_collision_orders():
    net = dbm.Network([("A + B -> B + B", 0.4), ("A + A -> A", 0.1), ("A + B -> 0", 0.2)])
    t = net.tables()
    stride = net.n_species + 1

    def entries(a, b):
        lo, hi = t.pair_start[a * stride + b], t.pair_start[a * stride + b + 1]
        return [
            (t.pair_prob[r], t.pair_product_target[r], t.pair_product_mover[r])
            for r in range(lo, hi)
        ]

    assert entries(1, 2) == entries(2, 1) == [(0.4, 2, 2), (0.2, 0, 0)]
    assert entries(1, 1) == [(0.1, 1, 0)]
    assert entries(2, 2) == []


def test_rossler_preset_matches_reference_notes():
    net = dbm.rossler()
    got = {r.equation: (r.rate if r.rate is not None else r.prob) for r in net.reactions}
    # REFERENCE_NOTES section 3 (equation 42 of the paper, lost from its text)
    assert got == {
        "A -> A + A": 30.0,
        "B -> 0": 10.0,
        "C -> C + C": 16.5,
        "A + A -> A": 0.1,
        "A + B -> B + B": 0.4,
        "A + C -> 0": 0.24,
        "C + C -> C": 0.36,
    }
    assert dbm.rossler(k2=3.0, p4=0.5).reactions[1].rate == 3.0
    assert dbm.rossler(k2=3.0, p4=0.5).reactions[6].prob == 0.5
    with pytest.raises(ValueError, match=r"prob.*\[0, 1\]"):
        dbm.rossler(p1=2.0)


def test_annihilation_preset():
    net = dbm.annihilation(0.01)
    assert net.species == ("A",) and net.reactions[0].prob == 0.01
    with pytest.raises(ValueError, match=r"prob.*\[0, 1\]"):
        dbm.annihilation(1.01)


def test_dict_round_trip():
    net = dbm.rossler(k1=12.0)
    assert dbm.Network.from_dict(net.to_dict()) == net


# --- issue 16, item 7 ---


@pytest.mark.parametrize("arrow", ["→", "=>", "-->", "<->", "⟶", "="])
def test_other_arrows_are_named(arrow):
    """Issue 16: 'A → B' was reported as a bad species name."""
    with pytest.raises(ValueError, match=f"uses the arrow `{arrow}`; write `->`"):
        Reaction.parse(f"A {arrow} B", rate=1.0)
    with pytest.raises(ValueError, match=f"uses the arrow `{arrow}`"):
        dbm.Network([(f"A + B {arrow} 0", 0.5)])


def test_collisions_with_different_placements_are_different_reactions():
    """Issue 16: A + B -> A + B (the two swap sites) and A + B -> B + A (both stay)
    were refused as duplicates. They place their products differently."""
    net = dbm.Network([("A + B -> A + B", 0.3), ("A + B -> B + A", 0.2)])
    t = net.tables()
    ab = 1 * 3 + 2  # mover A, target B
    assert t.pair_product_target[t.pair_start[ab] : t.pair_start[ab + 1]].tolist() == [1, 2]
    with pytest.raises(ValueError, match="Duplicate reaction"):
        dbm.Network([("A + B -> A + B", 0.3), ("B + A -> A + B", 0.2)])  # same placement
    with pytest.raises(ValueError, match="Duplicate reaction"):
        dbm.Network([("A -> A + A", 1.0), ("A -> A + A", 2.0)])


@pytest.mark.parametrize(
    ("data", "exc", "match"),
    [
        ({"species": ["A"]}, ValueError, r"lacks the key\(s\) \['reactions'\]"),
        ({"reactions": []}, ValueError, r"lacks the key\(s\) \['species'\]"),
        (
            {"species": ["A"], "reactions": [{"equation": "A -> 0", "rate": 1.0}]},
            ValueError,
            r"`data\['reactions'\]\[0\]` lacks the key\(s\) \['prob'\]",
        ),
        ({"species": ["A"], "reactions": ["A -> 0"]}, TypeError, "must be a dict"),
        ("A + A -> 0", TypeError, "`data` must be a dict"),
    ],
)
def test_from_dict_names_what_is_missing(data, exc, match):
    """Issue 16: a missing key gave a bare KeyError."""
    with pytest.raises(exc, match=match):
        dbm.Network.from_dict(data)


def test_numbers_as_strings_are_refused():
    with pytest.raises(TypeError, match="`prob` must be a number; got '0.5'"):
        dbm.Network([("A + A -> 0", "0.5")])
    with pytest.raises(TypeError, match="`rate` must be a number"):
        Reaction.parse("A -> 0", rate=True)


def test_creation_from_nothing_parses_with_a_rate_per_empty_site():
    r = Reaction.parse("0 -> X", rate=0.025)
    assert r.kind == "creation" and r.reactants == () and r.products == ("X",)
    net = dbm.Network([("0 -> X", 0.025), ("Y -> 0", 0.06), ("X + Y -> Y + Y", 0.4)])
    assert net.species == ("X", "Y") and net.reactions[0].rate == 0.025
    assert "per empty site" in str(net)
    assert dbm.Network.from_dict(net.to_dict()) == net
    for eq, kwargs, match in (
        ("0 -> X + X", {"rate": 1.0}, "one molecule"),
        ("0 -> 0", {"rate": 1.0}, "one molecule"),
        ("0 -> X", {"prob": 0.5}, "give `rate`"),
        ("0 -> X", {"rate": -1.0}, "rate.*>= 0"),
    ):
        with pytest.raises(ValueError, match=match):
            Reaction.parse(eq, **kwargs)
