"""Every window, cap and weight of the account graph, in one frozen object.

Nothing here depends on an entity type's name: identifier types share one cap (``identifier_cap``,
overridable per type) and one weight scale, and which types are identifiers or targets is inferred
from the log (:mod:`graphs.roles`) unless declared. The defaults are documented, with the reasoning
behind each, in ``docs/graph.md``. A params object is hashable, so it can key a cache, and it is
stored on the :class:`~graphs.graph.AccountGraph` it built.

Example:
    >>> params = GraphParams(sync_windows=(300, 3600), type_caps={"phone": 10})
    >>> params.cap("phone"), params.cap("device")
    (10, 50)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from .attributes import AttributeParams

#: Relation kind -> coefficient used by :meth:`AccountGraph.combined` when no weights are given.
#: ``identifier`` is every shared-identifier relation pooled (whatever the types are called),
#: ``id_time`` the same identifier used at the same time, ``coaction`` synchronised actions on the
#: same targets beyond chance, ``interaction`` follows and messages between acting accounts.
DEFAULT_RELATION_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("coaction", 1.0),
    ("id_time", 0.7),
    ("identifier", 0.6),
    ("interaction", 0.2),
)

#: Engines that can count the relations (:attr:`GraphParams.engine`).
ENGINES: tuple[str, ...] = ("local", "spark")

#: The relation kinds every graph has, in this order, whatever the log's schema (the model's inputs).
CANONICAL_RELATIONS: tuple[str, ...] = ("identifier", "id_time", "coaction", "interaction")


def _tuple_or_none(value):
    if value is None or isinstance(value, tuple):
        return value
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)


@dataclass(frozen=True)
class GraphParams:
    """Roles, windows (seconds), caps (accounts per entity) and weight scales of the account graph.

    Shared-identifier pair scores are sums of per-entity evidence ``idf(d) = 1 / log2(d)`` (``d`` =
    accounts on the entity, ``d >= 2``: a private pair counts 1.0, a 50-account IP 0.18), squashed to
    ``1 - exp(-score / identifier_scale)``. Synchrony relations (``coaction``, ``id_time``) keep the
    pairs that co-occur more often than chance predicts at some window, at a false-discovery rate
    (:mod:`graphs.synchrony`).

    Attributes:
        identifier_types: entity types declared to be shared identifiers (device, IP, phone, ...);
            ``None`` infers them from the log (:func:`graphs.roles.infer_roles`).
        target_types: entity types declared to be targets (content, product, URL, followed
            account, ...); ``None`` infers them.
        identifier_cap: identifiers used by more accounts than this give no pairwise edges, only hub
            features (CGNAT and mobile gateways, public wifi, big offices, popular e-mail domains).
        type_caps: per-type overrides of ``identifier_cap``, e.g. ``{"phone": 10}``.
        identifier_scale: saturation scale of the shared-identifier weight.
        presence_windows: time scales of ``id_time`` (two accounts on one identifier within a window).
        sync_windows: time scales of ``coaction``: from seconds (scripts) to a day (paid campaigns
            spread to look organic, day-granularity logs).
        sync_cell_cap: (target, window) cells with more actors than this link nobody (viral bursts).
        campaign_windows: time scales of the campaign-group test (:mod:`graphs.campaigns`): two
            (target, window) cells sharing more accounts than chance link those accounts in
            ``coaction``, for rings whose pairs co-act too rarely for the pairwise test (one review
            per campaign, a third of the campaigns joined); ``()`` switches it off.
        campaign_quiet: only accounts acting in at most this many cells of a window take part in
            the campaign-group test (active ones are judged pair by pair).
        campaign_min_shared: the accounts two cells must share to be a campaign group.
        campaign_cell_cap: cells with more accounts are left out of the campaign-group test (viral
            moments: their likers fill the window's other big cells by necessity).
        campaign_skip_same_source: the campaign-group test never pairs two cells whose targets have
            the same source (a creator's posts, :mod:`graphs.sources`): her fans in two of her posts
            share an interest, not a campaign.
        target_cap: targets acted on by more accounts than this in all are left out of ``coaction``.
        sync_min_count: a pair needs this many co-actions (distinct targets) at one window.
        presence_min_count: a pair needs this many co-present windows at one window for ``id_time``.
        sync_fdr: false-discovery rate at which synchronised pairs are kept.
        coaction_actions: actions counted as co-actions; ``None`` = every action on a target type.
        interaction_actions: actions between acting accounts (follow, message, ...) that give
            ``interaction`` edges; ``None`` = every action whose entity is an acting account.
        interaction_scale: per direction ``s = 1 - exp(-events / scale)``; weight ``(s_ab + s_ba) / 2``,
            so a one-way link is at most 0.5 and a reciprocated one reaches 1.
        relation_weights: coefficients of :meth:`AccountGraph.combined` per relation kind
            (:data:`CANONICAL_RELATIONS`).
        attributes: which extra columns of the log and the accounts table are used, and how
            (:class:`graphs.attributes.AttributeParams`).
        engine: what counts the relations: ``"local"`` (numpy / scipy.sparse in this process) or
            ``"spark"`` (Spark DataFrame operations, :mod:`graphs.spark`; the same relations to
            float rounding, ``detect --engine spark``).
    """

    identifier_types: tuple[str, ...] | None = None
    target_types: tuple[str, ...] | None = None
    identifier_cap: int = 50
    type_caps: tuple[tuple[str, int], ...] | Mapping[str, int] = ()
    identifier_scale: float = 1.0
    presence_windows: tuple[int, ...] = (600, 3600)
    sync_windows: tuple[int, ...] = (60, 600, 3600, 14400, 86400)
    sync_cell_cap: int = 500
    campaign_windows: tuple[int, ...] = (3600, 86400, 604800)
    campaign_quiet: int = 10
    campaign_min_shared: int = 3
    campaign_cell_cap: int = 250
    campaign_skip_same_source: bool = True
    target_cap: int = 2000
    sync_min_count: int = 2
    presence_min_count: int = 2
    sync_fdr: float = 0.01
    coaction_actions: tuple[str, ...] | None = None
    interaction_actions: tuple[str, ...] | None = None
    interaction_scale: float = 1.0
    relation_weights: tuple[tuple[str, float], ...] | Mapping[str, float] = DEFAULT_RELATION_WEIGHTS
    attributes: AttributeParams = field(default_factory=AttributeParams)
    engine: str = "local"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"GraphParams.engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        # Mappings are accepted for convenience and frozen to sorted tuples so the object stays hashable.
        if isinstance(self.attributes, Mapping):
            object.__setattr__(self, "attributes", AttributeParams(**self.attributes))
        for name in ("type_caps", "relation_weights"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, tuple(sorted(value.items())))
            elif isinstance(value, list):
                object.__setattr__(self, name, tuple(tuple(v) for v in value))
        for name in ("identifier_types", "target_types", "coaction_actions", "interaction_actions"):
            object.__setattr__(self, name, _tuple_or_none(getattr(self, name)))
        for name in ("presence_windows", "sync_windows"):
            value = tuple(int(w) for w in getattr(self, name))
            if not value or min(value) < 1:
                raise ValueError(f"GraphParams.{name} must be one or more windows of >= 1 second")
            object.__setattr__(self, name, tuple(sorted(set(value))))
        value = tuple(int(w) for w in self.campaign_windows)
        if value and min(value) < 1:
            raise ValueError("GraphParams.campaign_windows must be windows of >= 1 second, or none")
        object.__setattr__(self, "campaign_windows", tuple(sorted(set(value))))
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_cap") and (not isinstance(value, int) or value < 2):
                raise ValueError(f"GraphParams.{f.name} must be an integer >= 2, got {value!r}")
            if f.name.endswith("_scale") and not value > 0:
                raise ValueError(f"GraphParams.{f.name} must be > 0, got {value!r}")
        for name in ("sync_min_count", "presence_min_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"GraphParams.{name} must be >= 1")
        for name in ("campaign_quiet", "campaign_min_shared"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 2:
                raise ValueError(f"GraphParams.{name} must be an integer >= 2, got {getattr(self, name)!r}")
        if not 0 < self.sync_fdr < 1:
            raise ValueError(f"GraphParams.sync_fdr must be in (0, 1), got {self.sync_fdr!r}")
        for type_name, cap in self.type_caps:
            if cap < 2:
                raise ValueError(f"GraphParams.type_caps[{type_name!r}] must be >= 2, got {cap!r}")
        both = set(self.identifier_types or ()) & set(self.target_types or ())
        if both:
            raise ValueError(f"entity type {sorted(both)[0]!r} is declared both an identifier and a target")

    def cap(self, entity_type: str) -> int:
        """The account cap of an identifier type: above it an entity is a hub and links nobody."""
        return int(dict(self.type_caps).get(entity_type, self.identifier_cap))

    def relation_weight(self, kind: str) -> float:
        """The default coefficient of a relation kind in :meth:`AccountGraph.combined`."""
        return float(dict(self.relation_weights).get(kind, 0.0 if kind not in CANONICAL_RELATIONS else 1.0))
