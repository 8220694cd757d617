"""Species, reactions and reaction networks for the lattice simulator.

A :class:`Network` holds an ordered list of species (coded ``1..M`` on the
lattice, ``0`` is an empty site) and the reactions between them:

* zero-order creation ``0 -> X``, with a rate per *empty site* per unit time
  (a molecule appears on a uniformly random empty site; adsorption, or prey
  growing in the authors' Lotka-Volterra lattice);
* unimolecular, with a rate per unit time:
  ``X -> 0`` (decay), ``X -> Y`` (conversion in place) and ``X -> X + X``
  (birth: the child goes to a uniformly random *empty* nearest neighbour);
* bimolecular, with a probability per collision:
  ``X + Y -> 0``, ``X + Y -> P`` or ``X + Y -> P + Q``. The first product goes on
  the target (partner's) site, the second on the mover's old site.

Reactions can be written as text, ``"A + B -> B + B"``; the empty set is ``0``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["MAX_SPECIES", "Network", "NetworkTables", "Reaction", "annihilation", "rossler"]

MAX_SPECIES = 127  # lattice states are int8; code 0 is the empty site
#: Arrows people write instead of ``->`` (the longer ones first: ``-->`` contains ``->``).
_OTHER_ARROWS = ("<-->", "<->", "<=>", "-->", "=>", "→", "⟶", "⇒", "⟹", "⇌", "↔", "=")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_']*$")


def _check_arrow(equation: str) -> None:
    """Name the arrow if ``equation`` uses another one than ``->``."""
    for arrow in _OTHER_ARROWS:
        if arrow in equation:
            raise ValueError(
                f"Reaction `{equation}` uses the arrow `{arrow}`; write `->`, e.g. "
                f"{equation.replace(arrow, '->', 1)!r}."
            )


def _parse_side(text: str, equation: str) -> tuple[str, ...]:
    text = text.strip()
    if text in ("0", "∅", ""):
        if text == "":
            raise ValueError(f"Reaction `{equation}` has an empty side; write `0` for nothing.")
        return ()
    names = tuple(part.strip() for part in text.split("+"))
    for name in names:
        if not _NAME.match(name):
            raise ValueError(
                f"Reaction `{equation}`: species name {name!r} is not valid; names start "
                "with a letter and contain letters, digits, `_` or `'`."
            )
    return names


@dataclass(frozen=True)
class Reaction:
    """One reaction of a lattice network.

    Attributes
    ----------
    reactants : tuple of str
        None (creation, ``0 -> X``), one species (unimolecular) or two
        (bimolecular, a collision).
    products : tuple of str
        Zero, one or two species. For a collision the first product is placed
        on the target site and the second on the mover's old site.
    rate : float or None
        Rate per unit time of a unimolecular reaction (per molecule), or of a
        creation (per empty site).
    prob : float or None
        Probability that a collision of the two reactants reacts.

    Examples
    --------
    >>> Reaction.parse("A + B -> B + B", prob=0.4)
    Reaction('A + B -> B + B', prob=0.4)
    >>> Reaction.parse("A -> A + A", rate=30).kind
    'birth'
    >>> Reaction.parse("0 -> X", rate=0.025).kind
    'creation'
    """

    reactants: tuple[str, ...]
    products: tuple[str, ...]
    rate: float | None = None
    prob: float | None = None

    @classmethod
    def parse(cls, equation: str, *, rate: float | None = None, prob: float | None = None):
        """Build a reaction from text such as ``"A + A -> 0"`` (``0`` is nothing)."""
        if not isinstance(equation, str):
            raise TypeError(f"`equation` must be a string like 'A + B -> B'; got {equation!r}.")
        _check_arrow(equation)
        sides = equation.split("->")
        if len(sides) != 2:
            raise ValueError(f"Reaction `{equation}` must contain exactly one `->`.")
        return cls(_parse_side(sides[0], equation), _parse_side(sides[1], equation), rate, prob)

    def __post_init__(self) -> None:
        eq = self.equation
        n_in, n_out = len(self.reactants), len(self.products)
        if n_in == 0:
            if n_out != 1:
                raise ValueError(
                    f"Reaction `{eq}`: a creation from nothing must make one molecule, `0 -> X`."
                )
            if self.rate is None or self.prob is not None:
                raise ValueError(
                    f"Reaction `{eq}` is a creation: give `rate` (per empty site), not `prob`."
                )
            _check_number("rate", self.rate, eq, upper=math.inf)
        elif n_in == 1:
            x = self.reactants[0]
            allowed = n_out == 0 or n_out == 1 or self.products == (x, x)
            if not allowed:
                raise ValueError(
                    f"Reaction `{eq}`: unimolecular reactions must be `X -> 0`, `X -> Y` or "
                    "`X -> X + X`."
                )
            if self.rate is None or self.prob is not None:
                raise ValueError(f"Reaction `{eq}` is unimolecular: give `rate`, not `prob`.")
            _check_number("rate", self.rate, eq, upper=math.inf)
        elif n_in == 2:
            if n_out > 2:
                raise ValueError(f"Reaction `{eq}`: a collision makes at most two products.")
            if self.prob is None or self.rate is not None:
                raise ValueError(
                    f"Reaction `{eq}` is bimolecular (a collision): give `prob`, not `rate`."
                )
            _check_number("prob", self.prob, eq, upper=1.0)
        else:
            raise ValueError(f"Reaction `{eq}`: only uni- and bimolecular reactions are allowed.")

    @property
    def equation(self) -> str:
        """The reaction as text, e.g. ``'A + B -> B + B'``."""
        left = " + ".join(self.reactants) or "0"
        right = " + ".join(self.products) or "0"
        return f"{left} -> {right}"

    @property
    def kind(self) -> str:
        """``'creation'``, ``'decay'``, ``'conversion'``, ``'birth'`` or ``'collision'``."""
        if len(self.reactants) == 2:
            return "collision"
        if not self.reactants:
            return "creation"
        return {0: "decay", 1: "conversion", 2: "birth"}[len(self.products)]

    def __repr__(self) -> str:
        value = f"rate={self.rate:g}" if self.rate is not None else f"prob={self.prob:g}"
        return f"Reaction({self.equation!r}, {value})"

    def _key(self) -> tuple:
        """What makes two reactions the same: the unordered reactants and, for a
        collision, the products in placement order (first on the target, second
        on the mover's site), so ``A + B -> A + B`` (the two swap places) and
        ``A + B -> B + A`` (both stay) are different reactions."""
        products = self.products if len(self.reactants) == 2 else tuple(sorted(self.products))
        return (tuple(sorted(self.reactants)), products)


def _check_number(name: str, value: float, equation: str, *, upper: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"Reaction `{equation}`: `{name}` must be a number; got {value!r}.")
    if not math.isfinite(value) or value < 0 or value > upper:
        rule = "in [0, 1]" if upper == 1.0 else "finite and >= 0"
        raise ValueError(f"Reaction `{equation}`: `{name}` must be {rule}; got {value}.")


ReactionLike = Reaction | tuple[str, float] | str


@dataclass(frozen=True, init=False)
class Network:
    """A lattice reaction network: species in lattice-code order and reactions.

    Parameters
    ----------
    reactions : sequence of Reaction or (equation, number)
        For ``(equation, number)`` the number is a rate if the reaction is
        unimolecular and a collision probability if it is bimolecular.
    species : sequence of str, optional
        Species names in the order of their lattice codes ``1..M``. By default,
        the order of first appearance in ``reactions``. A reaction naming a
        species not in an explicit list raises ``ValueError``.

    Examples
    --------
    >>> net = Network([("A + B -> B + B", 0.4), ("B -> 0", 10.0)])
    >>> net.species
    ('A', 'B')
    >>> net.code("B")
    2
    >>> print(net)
    Network with species A=1, B=2
      A + B -> B + B    prob 0.4 per collision
      B -> 0            rate 10 per unit time
    """

    reactions: tuple[Reaction, ...]
    species: tuple[str, ...] = field(default=())

    def __init__(
        self, reactions: Iterable[ReactionLike], species: Sequence[str] | None = None
    ) -> None:
        parsed = tuple(_as_reaction(r) for r in reactions)
        names: list[str] = []
        if species is not None:
            if isinstance(species, str):
                raise TypeError("`species` must be a sequence of names, e.g. ['A', 'B'].")
            names = [str(s) for s in species]
            for s in names:
                if not _NAME.match(s):
                    raise ValueError(f"`species`: {s!r} is not a valid species name.")
            if len(set(names)) != len(names):
                raise ValueError(f"`species` contains a duplicate name: {names}.")
        known = set(names)
        for r in parsed:
            for s in r.reactants + r.products:
                if s not in known:
                    if species is not None:
                        raise ValueError(
                            f"Reaction `{r.equation}` uses species {s!r}, which is not in "
                            f"`species` {tuple(names)}."
                        )
                    names.append(s)
                    known.add(s)
        if not names:
            raise ValueError("A network needs at least one species.")
        if len(names) > MAX_SPECIES:
            raise ValueError(
                f"A network has at most {MAX_SPECIES} species (int8 lattice codes); "
                f"got {len(names)}."
            )
        seen: dict[tuple, Reaction] = {}
        for r in parsed:
            if r._key() in seen:
                raise ValueError(
                    f"Duplicate reaction: `{r.equation}` repeats `{seen[r._key()].equation}`."
                )
            seen[r._key()] = r
        object.__setattr__(self, "reactions", parsed)
        object.__setattr__(self, "species", tuple(names))

    @property
    def n_species(self) -> int:
        """Number of species ``M`` (lattice codes ``1..M``)."""
        return len(self.species)

    def code(self, name: str) -> int:
        """Lattice code (1-based) of species ``name``."""
        try:
            return self.species.index(name) + 1
        except ValueError:
            raise ValueError(
                f"Unknown species {name!r}; this network has {self.species}."
            ) from None

    def __str__(self) -> str:
        codes = ", ".join(f"{s}={i + 1}" for i, s in enumerate(self.species))
        lines = [f"Network with species {codes}"]
        width = max((len(r.equation) for r in self.reactions), default=0)
        for r in self.reactions:
            if r.kind == "creation":
                what = f"rate {r.rate:g} per empty site per unit time"
            elif r.rate is not None:
                what = f"rate {r.rate:g} per unit time"
            else:
                what = f"prob {r.prob:g} per collision"
            lines.append(f"  {r.equation:<{width}}    {what}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready description; :meth:`from_dict` inverts it."""
        return {
            "species": list(self.species),
            "reactions": [
                {"equation": r.equation, "rate": r.rate, "prob": r.prob} for r in self.reactions
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Network:
        """Rebuild a network written by :meth:`to_dict`.

        Raises ``ValueError`` naming a missing key, e.g. a reaction without ``"rate"``.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"`data` must be a dict from Network.to_dict; got {data!r}.")
        missing = [k for k in ("species", "reactions") if k not in data]
        if missing:
            raise ValueError(f"`data` lacks the key(s) {missing} of Network.to_dict().")
        reactions = []
        for i, r in enumerate(data["reactions"]):
            if not isinstance(r, Mapping):
                raise TypeError(f"`data['reactions'][{i}]` must be a dict; got {r!r}.")
            lost = [k for k in ("equation", "rate", "prob") if k not in r]
            if lost:
                raise ValueError(
                    f"`data['reactions'][{i}]` lacks the key(s) {lost} (each reaction has "
                    "'equation', 'rate' and 'prob', one of them None)."
                )
            reactions.append(Reaction.parse(r["equation"], rate=r["rate"], prob=r["prob"]))
        return cls(reactions, species=data["species"])

    def tables(self) -> NetworkTables:
        """Flat integer/float arrays that the simulation kernel reads."""
        return NetworkTables.from_network(self)


def _as_reaction(item: ReactionLike) -> Reaction:
    if isinstance(item, Reaction):
        return item
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        equation, value = item
        _check_arrow(equation)
        n_reactants = len(_parse_side(equation.split("->")[0], equation))
        if n_reactants == 2:
            return Reaction.parse(equation, prob=value)
        return Reaction.parse(equation, rate=value)
    raise TypeError(
        "Each reaction must be a Reaction or a tuple (equation, number), e.g. "
        f"('A + A -> 0', 0.01); got {item!r}."
    )


_KIND_CODE = {"decay": 0, "conversion": 1, "birth": 2, "creation": 3}


@dataclass(frozen=True)
class NetworkTables:
    """A network as flat arrays for the simulation kernel.

    Attributes
    ----------
    n_species : int
    uni_reactant, uni_kind, uni_product : ndarray of int64, shape (n_uni,)
        Reactant code, kind (0 decay, 1 conversion, 2 birth, 3 creation) and
        product code (conversion only) of each reaction with a rate, in network
        order. A creation ``0 -> X`` has no reactant: its ``uni_reactant`` is
        the code of ``X``, the species it creates (and whose count the authors'
        selection rule uses, see :func:`~dbmtools.simulate`).
    uni_rate : ndarray of float64, shape (n_uni,)
        Per molecule per unit time, or for a creation per empty site.
    pair_start : ndarray of int64, shape ((M + 1) ** 2 + 1,)
        Collisions of mover ``a`` with target ``b`` use entries
        ``pair_start[a * (M + 1) + b] : pair_start[a * (M + 1) + b + 1]`` of
        the ``pair_*`` arrays below, in network order.
    pair_prob : ndarray of float64
    pair_product_target, pair_product_mover : ndarray of int64
        Product placed on the target site and on the mover's old site (0: none).
    """

    n_species: int
    uni_reactant: np.ndarray
    uni_kind: np.ndarray
    uni_product: np.ndarray
    uni_rate: np.ndarray
    pair_start: np.ndarray
    pair_prob: np.ndarray
    pair_product_target: np.ndarray
    pair_product_mover: np.ndarray

    @classmethod
    def from_network(cls, net: Network) -> NetworkTables:
        m = net.n_species
        uni = [r for r in net.reactions if len(r.reactants) < 2]
        uni_reactant = np.array(
            [net.code((r.reactants or r.products)[0]) for r in uni], dtype=np.int64
        )
        uni_kind = np.array([_KIND_CODE[r.kind] for r in uni], dtype=np.int64)
        uni_product = np.array(
            [net.code(r.products[0]) if r.kind == "conversion" else 0 for r in uni], dtype=np.int64
        )
        uni_rate = np.array([r.rate for r in uni], dtype=np.float64)

        entries: list[list[tuple[float, int, int]]] = [[] for _ in range((m + 1) ** 2)]
        for r in net.reactions:
            if len(r.reactants) != 2:
                continue
            x, y = (net.code(s) for s in r.reactants)
            prods = [net.code(s) for s in r.products] + [0, 0]
            entry = (float(r.prob), prods[0], prods[1])
            entries[x * (m + 1) + y].append(entry)
            if x != y:
                entries[y * (m + 1) + x].append(entry)
        counts = np.array([len(e) for e in entries], dtype=np.int64)
        pair_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        flat = [e for es in entries for e in es]
        return cls(
            n_species=m,
            uni_reactant=uni_reactant,
            uni_kind=uni_kind,
            uni_product=uni_product,
            uni_rate=uni_rate,
            pair_start=pair_start,
            pair_prob=np.array([e[0] for e in flat], dtype=np.float64),
            pair_product_target=np.array([e[1] for e in flat], dtype=np.int64),
            pair_product_mover=np.array([e[2] for e in flat], dtype=np.int64),
        )


def annihilation(prob: float = 0.01, *, species: str = "A") -> Network:
    """The network ``A + A -> 0`` of the paper's section IV A.

    Parameters
    ----------
    prob : float
        Probability that a collision annihilates both particles; the paper uses
        0.01.
    species : str
        Name of the species.

    Examples
    --------
    >>> print(annihilation(0.01))
    Network with species A=1
      A + A -> 0    prob 0.01 per collision
    """
    return Network([Reaction.parse(f"{species} + {species} -> 0", prob=prob)])


def rossler(
    *,
    k1: float = 30.0,
    k2: float = 10.0,
    k3: float = 16.5,
    p1: float = 0.1,
    p2: float = 0.4,
    p3: float = 0.24,
    p4: float = 0.36,
) -> Network:
    """The volume-excluding Willamowski–Rössler network of the paper's section IV B.

    Equation (42) of the paper was lost from its text; the reactions and
    values are those of the authors' published scripts::

        A -> A + A       k1 = 30
        B -> 0           k2 = 10
        C -> C + C       k3 = 16.5
        A + A -> A       p1 = 0.1
        A + B -> B + B   p2 = 0.4
        A + C -> 0       p3 = 0.24
        C + C -> C       p4 = 0.36

    Every rate and probability can be overridden by keyword.

    Examples
    --------
    >>> net = rossler(k1=25.0)
    >>> net.species, net.reactions[0]
    (('A', 'B', 'C'), Reaction('A -> A + A', rate=25))
    """
    return Network(
        [
            Reaction.parse("A -> A + A", rate=k1),
            Reaction.parse("B -> 0", rate=k2),
            Reaction.parse("C -> C + C", rate=k3),
            Reaction.parse("A + A -> A", prob=p1),
            Reaction.parse("A + B -> B + B", prob=p2),
            Reaction.parse("A + C -> 0", prob=p3),
            Reaction.parse("C + C -> C", prob=p4),
        ],
        species=("A", "B", "C"),
    )
