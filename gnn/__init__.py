"""Account scoring models: registry, scorers, training, save/load. See docs/models.md."""

from gnn.artifacts import load_model, save_model
from gnn.config import TrainConfig, load_config, parse_config
from gnn.errors import ConfigError, DatasetError, GNNError, GraphDataError
from gnn.registry import available_models, get_model, register_model
from gnn.scorers import GNNScorer, Scorer, build_scorer
from gnn.train import train

__all__ = [
    "ConfigError",
    "DatasetError",
    "GNNError",
    "GNNScorer",
    "GraphDataError",
    "Scorer",
    "TrainConfig",
    "available_models",
    "build_scorer",
    "get_model",
    "load_config",
    "load_model",
    "parse_config",
    "register_model",
    "save_model",
    "train",
]
