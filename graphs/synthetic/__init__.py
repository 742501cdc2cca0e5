"""A realistic, seeded, vectorised synthetic world: benign life, benign look-alikes and bot rings.

Example:
    >>> from graphs.synthetic import WorldConfig, generate_world, write_world
    >>> world = generate_world(WorldConfig(n_accounts=100_000, seed=7))
    >>> paths = write_world(world, "out/", fmt="csv.gz")

See docs/synthetic_world.md for the model and every knob.
"""

from .config import BenignConfig, LookalikeConfig, RingConfig, WorldConfig
from .world import World, generate_world
from .writer import write_world

__all__ = [
    "BenignConfig",
    "LookalikeConfig",
    "RingConfig",
    "World",
    "WorldConfig",
    "generate_world",
    "write_world",
]
