"""Name -> model registry.

A new variant is one file in ``gnn/models/``, one ``@register_model("name")`` decorator and one import
line in ``gnn/models/__init__.py``; a config then selects it with ``model: name``.

Two kinds of classes can be registered:

* a subclass of :class:`gnn.models.base.GNNModel` (shared constructor ``in_channels, hidden,
  num_relations, layers, dropout``; its own parameters keyword-only; ``embed`` plus an ``out`` head,
  ``forward(x, edge_index, edge_type=None, edge_weight=None) -> Tensor`` returning one logit per
  node [N]), or any ``torch.nn.Module`` with that constructor and forward;
  :class:`gnn.scorers.GNNScorer` trains it;
* a class implementing the :class:`gnn.scorers.Scorer` protocol itself (``fit``/``score``/``save``/
  ``load``), constructed as ``cls(config)``, e.g. the gradient-boosted-trees baseline ``gbt``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T", bound=type)

_REGISTRY: dict[str, type] = {}

# Constructor arguments filled from the top-level config rather than from ``params``.
COMMON_ARGS = ("in_channels", "hidden", "num_relations", "layers", "dropout")


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator registering a model under ``name``.

    Example:
        >>> @register_model("my_gnn")
        ... class MyGNN(torch.nn.Module): ...
    """

    def decorator(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered by {_REGISTRY[name].__qualname__}")
        cls.model_name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def _load_builtin_models() -> None:
    import gnn.models  # noqa: F401  (importing registers the built-in models)


def get_model(name: str) -> type:
    """The class registered under ``name``; ``KeyError`` listing the available names otherwise."""
    _load_builtin_models()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(available_models())}") from None


def available_models() -> list[str]:
    """Sorted names of all registered models."""
    _load_builtin_models()
    return sorted(_REGISTRY)


def model_params(name: str) -> dict[str, object]:
    """Model-specific keyword parameters (those a config's ``params`` may set) and their defaults.

    For an ``nn.Module`` they are the keyword arguments of ``__init__`` along its class hierarchy
    (a subclass of :class:`gnn.models.base.GNNModel` takes its own as keyword-only arguments and
    passes the rest on), without the shared ones of :data:`COMMON_ARGS`.
    """
    cls = get_model(name)
    params = getattr(cls, "params", None)
    if isinstance(params, dict):  # scorers that take a config declare their params explicitly
        return dict(params)
    out: dict[str, object] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass.__module__.startswith("torch"):
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.name in COMMON_ARGS or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            out.setdefault(p.name, None if p.default is inspect.Parameter.empty else p.default)
    return out
