"""A realistic, seeded, vectorised synthetic world: benign life, benign look-alikes and bot rings.

Example:
    >>> from graphs.synthetic import WorldConfig, generate_world, write_world
    >>> world = generate_world(WorldConfig(n_accounts=100_000, seed=7))
    >>> paths = write_world(world, "out/", fmt="csv.gz")

Regimes (families of worlds that differ from the default platform: coordination over seconds,
hours or a day, fewer or more identifiers, other names, big / small / camouflaged rings)::

    >>> from graphs.synthetic import REGIMES, generate_regime_world
    >>> world = generate_regime_world("hours", n_accounts=20_000, seed=1)

See docs/synthetic_world.md for the model, every knob and the regimes.
"""

from .config import BenignConfig, LookalikeConfig, RingConfig, WorldConfig
from .regimes import REGIMES, Regime, Transform, apply_transform, generate_regime_world
from .world import World, generate_world
from .writer import write_world

__all__ = [
    "REGIMES",
    "BenignConfig",
    "LookalikeConfig",
    "Regime",
    "RingConfig",
    "Transform",
    "World",
    "WorldConfig",
    "apply_transform",
    "generate_regime_world",
    "generate_world",
    "write_world",
]
