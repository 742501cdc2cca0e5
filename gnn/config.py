"""Training configuration: one pydantic model, read from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from gnn.errors import ConfigError
from gnn.registry import available_models, model_params

__all__ = ["ConfigError", "TrainConfig", "dump_config", "load_config", "parse_config"]


class TrainConfig(BaseModel):
    """Hyper-parameters of one training run.

    ``params`` holds the model-specific parameters (see ``docs/models.md``); everything else is shared.
    For ``gbt``, ``epochs`` is the maximum number of boosting rounds, ``lr`` the learning rate and
    ``patience`` is counted in rounds. ``exclude_features`` names account features
    (``docs/graph.md``) left out of the model's inputs; the saved ``feature_schema.json`` lists the
    rest, and scoring takes those columns by name.
    """

    model_config = ConfigDict(extra="forbid")

    model: str
    hidden: int = Field(64, gt=0, strict=True)
    layers: int = Field(2, gt=0, strict=True)
    lr: float = Field(0.01, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    epochs: int = Field(200, gt=0, strict=True)
    patience: int = Field(30, gt=0, strict=True)
    seed: int = Field(0, strict=True)
    split_seed: int | None = Field(None, strict=True)
    dropout: float = Field(0.0, ge=0, lt=1)
    class_weight: str | float = "balanced"
    scaling: Literal["log1p-standard", "standard", "none"] = "log1p-standard"
    params: dict[str, Any] = Field(default_factory=dict)
    exclude_features: list[str] = Field(default_factory=list)

    @field_validator("lr", "weight_decay", "dropout", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"Input should be a number, not a boolean (got {value})")
        return value

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        names = available_models()
        if value not in names:
            raise ValueError(f"unknown model {value!r}; available: {', '.join(names)}")
        return value

    @field_validator("class_weight", mode="before")
    @classmethod
    def _balanced_or_positive(cls, value: Any) -> str | float:
        if value == "balanced" and isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        raise ValueError(
            f"must be 'balanced' or a positive number, the weight of the bot class (got {value!r})"
        )

    @field_validator("params")
    @classmethod
    def _known_params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        model = info.data.get("model")
        if model is None:  # the model field failed; its error is reported instead
            return value
        accepted = model_params(model)
        unknown = sorted(set(value) - set(accepted))
        if unknown:
            raise ValueError(
                f"{', '.join(map(repr, unknown))} not accepted by model {model!r}; "
                f"accepted: {', '.join(sorted(accepted)) or 'none'}"
            )
        return value


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"][:2])
    message = first["msg"].removeprefix("Value error, ")
    where = f"{source}, field {loc!r}" if loc else source
    extra = ""
    if first["type"] not in ("value_error", "missing", "extra_forbidden") and "input" in first:
        extra = f" (got {first['input']!r})"
    if first["type"] == "extra_forbidden":
        message = f"unknown field; allowed: {', '.join(TrainConfig.model_fields)}"
    return f"{where}: {message}{extra}"


def parse_config(raw: dict[str, Any] | TrainConfig, source: str = "config") -> TrainConfig:
    """Validate a config mapping.

    Raises:
        ConfigError: one sentence naming ``source``, the first bad field and what it accepts.
    """
    if isinstance(raw, TrainConfig):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        return TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: str | Path) -> TrainConfig:
    """Read and validate a YAML config file (see ``gnn/configs/*.yaml``)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse_config(raw, str(path))


def dump_config(config: TrainConfig) -> str:
    """The config as YAML text (round-trips through :func:`parse_config`)."""
    return yaml.safe_dump(config.model_dump(), sort_keys=False)
