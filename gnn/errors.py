"""Exceptions raised by the GNN package for problems a user can fix."""

from __future__ import annotations

from graphs.errors import RingscopeError


class GNNError(RingscopeError, ValueError):
    """Base class: a user-fixable problem with a config, a graph or a saved model."""


class ConfigError(GNNError):
    """A training config that cannot be used; the message names the file, the field and the fix."""


class GraphDataError(GNNError):
    """A graph that does not match the model's input interface or its feature schema."""


class DatasetError(GNNError):
    """A benchmark dataset file that is missing or not in the expected format."""
