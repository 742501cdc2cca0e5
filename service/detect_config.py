"""``detect --config F.yaml``: every knob of a detection run from one YAML file, validated.

The file mirrors :class:`~service.pipeline.DetectParams`: one section per parameter object
(``graph``, ``cluster``, ``evidence``, ``verdict``, ``refine``) holding the fields to change; anything
left out keeps its default. ``graph.attributes`` is a section of its own. Example::

    graph:
      sync_windows: [60, 600, 3600]
      type_caps: {phone: 10}
      attributes: {ignore: [user_agent]}
    cluster:
      resolution: 0.08
    refine:
      detach_passive: false
    verdict:
      fdr: 0.01

An unknown section or field, a value of the wrong type or out of range is refused with one line naming
the file and the field (``detect.yaml, field 'graph.sync_windows': ...``).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from graphs.errors import RingscopeError


class DetectConfigError(RingscopeError, ValueError):
    """A detect config that cannot be used; the message names the file, the field and the fix."""


def load_detect_config(path: str | Path, base: Any = None) -> Any:
    """The :class:`~service.pipeline.DetectParams` of a YAML file (over ``base``, default the defaults).

    Raises:
        DetectConfigError: the file is missing, not YAML, or a field is unknown or invalid.
    """
    from service.pipeline import DetectParams

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DetectConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectConfigError(f"{path}: cannot be read ({exc})") from None
    return detect_config_from_text(text, str(path), base or DetectParams())


def detect_config_from_text(text: str, source: str, base: Any = None) -> Any:
    """The :class:`~service.pipeline.DetectParams` of a config's YAML text (``source`` names it in errors)."""
    from service.pipeline import DetectParams

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DetectConfigError(f"{source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return params_from_mapping(base or DetectParams(), raw or {}, source)


def params_from_mapping(base: Any, data: Any, source: str, prefix: str = "") -> Any:
    """A copy of the frozen dataclass ``base`` with the fields in ``data`` replaced (recursively)."""
    cls = type(base)
    if not isinstance(data, dict):
        where = f"section {prefix[:-1]!r}" if prefix else "the file"
        raise DetectConfigError(f"{source}: {where} must be a mapping of fields, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    changes: dict[str, Any] = {}
    for key, value in data.items():
        field = f"{prefix}{key}"
        if key not in names:
            raise DetectConfigError(
                f"{source}, field {field!r}: unknown field; allowed here: {', '.join(names)}"
            )
        current = getattr(base, key)
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            changes[key] = params_from_mapping(current, value, source, f"{field}.")
            continue
        try:
            changes[key] = _convert(hints[key], value)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DetectConfigError(
                f"{source}, field {field!r}: {first['msg'].removeprefix('Value error, ')} (got {value!r})"
            ) from None
    try:
        return dataclasses.replace(base, **changes)
    except (ValueError, TypeError) as exc:
        name = prefix[:-1] or cls.__name__
        raise DetectConfigError(f"{source}, section {name!r}: {exc}") from None


def _convert(hint: Any, value: Any) -> Any:
    """``value`` checked against the field's type (lists become tuples, no bools for numbers)."""
    if isinstance(value, bool) and not _allows_bool(hint):
        raise ValidationError.from_exception_data("bool", [{"type": "int_type", "loc": (), "input": value}])
    return TypeAdapter(hint).validate_python(value)


def _allows_bool(hint: Any) -> bool:
    if hint is bool:
        return True
    return any(_allows_bool(a) for a in typing.get_args(hint))
