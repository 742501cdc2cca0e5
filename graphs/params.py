"""Every window, cap and weight of the account graph, in one frozen object.

The defaults are documented (with the reasoning behind each) in ``docs/graph.md``. A params object is
hashable, so it can key a cache, and it is stored on the :class:`~graphs.graph.AccountGraph` it built.

Example:
    >>> params = GraphParams(coaction_window=300, type_caps={"phone": 10})
    >>> params.cap("phone"), params.cap("device")
    (10, 100)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

#: Relation name -> coefficient used by :meth:`AccountGraph.combined` when no weights are given.
#: Set from the share of each relation's edges that join members of one ring on generated worlds
#: (docs/graph.md): lockstep co-action and shared phones are nearly always ring edges, a shared device
#: or the same IP at the same hour usually, an IP at any time or a follow mostly benign (households,
#: offices, friends). Relations not listed get 1.0.
DEFAULT_RELATION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("coaction", 1.0),
    ("device", 0.7),
    ("email_domain", 0.2),
    ("interaction", 0.2),
    ("ip", 0.3),
    ("ip_time", 0.7),
)


@dataclass(frozen=True)
class GraphParams:
    """Windows (seconds), caps (accounts per entity) and weight scales of the account graph.

    Pair scores are sums of per-entity evidence ``idf(d) = 1 / log2(d)`` (``d`` = accounts on the
    entity, ``d >= 2``: a private pair counts 1.0, a 50-account IP 0.18); a relation's weight is
    ``1 - exp(-score / scale)``, in (0, 1).

    Attributes:
        target_types: entity types that are acted on (likes, follows) rather than shared identifiers.
            Every other entity type (device, ip, phone, email, ...) gives an identifier relation.
        device_cap: devices used by more accounts than this give no pairwise edges, only hub features.
        ip_cap: the same for IPs (CGNAT, mobile gateways, public wifi and offices exceed it).
        identifier_cap: the same for every other identifier type (phone, email, payment, ...).
        type_caps: per-type overrides of the caps above, e.g. ``{"phone": 10}``.
        identifier_scale: saturation scale of the identifier relations' weight.
        ip_window: the ``ip_time`` window: two accounts on one IP within it are co-present.
        ip_time_scale: saturation scale of ``ip_time`` (score = IDF-weighted co-present windows).
        coaction_window: two actions on one target within it are synchronised (lockstep).
        coaction_cap: (target, window) cells with more actors than this (viral bursts) link nobody.
        coaction_min_targets: a pair needs this many distinct co-acted targets to get an edge.
        coaction_scale: saturation scale of ``coaction`` (score = IDF-weighted co-acted targets).
        coaction_actions: actions counted as co-actions; ``None`` = every action on a target type.
        interaction_actions: actions between acting accounts (follow, message, ...) that give
            ``interaction`` edges; ``None`` = every action whose entity is an acting account.
        interaction_scale: per direction ``s = 1 - exp(-events / scale)``; weight ``(s_ab + s_ba) / 2``,
            so a one-way link is at most 0.5 and a reciprocated one reaches 1.
        relation_weights: coefficients of :meth:`AccountGraph.combined` when none are given;
            relations not listed (``phone``, ``email``, ...) get 1.0.
    """

    target_types: tuple[str, ...] = ("content", "account")
    device_cap: int = 100
    ip_cap: int = 50
    identifier_cap: int = 50
    type_caps: tuple[tuple[str, int], ...] | Mapping[str, int] = ()
    identifier_scale: float = 1.0
    ip_window: int = 3600
    ip_time_scale: float = 2.0
    coaction_window: int = 600
    coaction_cap: int = 300
    coaction_min_targets: int = 3
    coaction_scale: float = 5.0
    coaction_actions: tuple[str, ...] | None = None
    interaction_actions: tuple[str, ...] | None = None
    interaction_scale: float = 1.0
    relation_weights: tuple[tuple[str, float], ...] | Mapping[str, float] = DEFAULT_RELATION_WEIGHTS

    def __post_init__(self) -> None:
        # Mappings are accepted for convenience and frozen to sorted tuples so the object stays hashable.
        for name in ("type_caps", "relation_weights"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, tuple(sorted(value.items())))
        for name in ("target_types", "coaction_actions", "interaction_actions"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith(("_cap", "_window")) and (not isinstance(value, int) or value < 2):
                raise ValueError(f"GraphParams.{f.name} must be an integer >= 2, got {value!r}")
            if f.name.endswith("_scale") and not value > 0:
                raise ValueError(f"GraphParams.{f.name} must be > 0, got {value!r}")
        if self.coaction_min_targets < 1:
            raise ValueError("GraphParams.coaction_min_targets must be >= 1")
        for type_name, cap in self.type_caps:
            if cap < 2:
                raise ValueError(f"GraphParams.type_caps[{type_name!r}] must be >= 2, got {cap!r}")

    def cap(self, entity_type: str) -> int:
        """The account cap of an identifier type: above it an entity is a hub and links nobody."""
        overrides = dict(self.type_caps)
        if entity_type in overrides:
            return int(overrides[entity_type])
        if entity_type == "device":
            return self.device_cap
        if entity_type == "ip":
            return self.ip_cap
        return self.identifier_cap

    def relation_weight(self, relation: str) -> float:
        """The default coefficient of a relation in :meth:`AccountGraph.combined`."""
        return float(dict(self.relation_weights).get(relation, 1.0))
