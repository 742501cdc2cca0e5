"""``detect --config``: every knob of DetectParams from YAML, validated with one line per mistake."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from service.detect_config import DetectConfigError, load_detect_config
from service.pipeline import DetectParams


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "detect.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_every_knob_round_trips_through_yaml(tmp_path: Path) -> None:
    defaults = DetectParams()
    every = _plain(dataclasses.asdict(defaults))
    assert load_detect_config(write(tmp_path, every)) == defaults
    assert load_detect_config(write(tmp_path, "")) == defaults


def _leaves(obj, prefix=""):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", value


@pytest.mark.parametrize("name", [n for n, v in _leaves(DetectParams()) if isinstance(v, int | float)])
def test_each_numeric_knob_is_reachable(tmp_path: Path, name: str) -> None:
    """Changing any numeric knob in the file changes exactly that knob."""
    defaults = DetectParams()
    *sections, leaf = name.split(".")
    obj = defaults
    for s in sections:
        obj = getattr(obj, s)
    value = getattr(obj, leaf)
    if isinstance(value, bool):
        new = not value
    elif isinstance(value, int):
        new = value + 1
    else:
        new = min(value * 1.5, 0.99) if 0 < value < 1 else value * 1.5 + 1
    data: dict = {}
    node = data
    for s in sections:
        node = node.setdefault(s, {})
    node[leaf] = new
    try:
        got = load_detect_config(write(tmp_path, data))
    except DetectConfigError as exc:  # a value the knob's own check refuses: still one clear line
        assert name.split(".")[-1] in str(exc) or sections[0] in str(exc)
        return
    obj = got
    for s in sections:
        obj = getattr(obj, s)
    assert getattr(obj, leaf) == new
    assert dict(_leaves(got)) | {name: value} == dict(_leaves(defaults))


@pytest.mark.parametrize(
    "text, needle",
    [
        ("graph:\n  foo: 1\n", "field 'graph.foo': unknown field"),
        ("nosection: 1\n", "field 'nosection': unknown field"),
        ("graph:\n  sync_windows: abc\n", "field 'graph.sync_windows'"),
        ("cluster:\n  min_size: true\n", "field 'cluster.min_size'"),
        ("refine:\n  merge_ratio: 3\n", "refine.merge_ratio must be in [0, 1]"),
        ("cluster:\n  method: nope\n", "unknown clustering method"),
        ("[1, 2]\n", "must be a mapping"),
        ("graph: [\n", "not valid YAML"),
    ],
)
def test_mistakes_are_one_line_naming_the_field(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(DetectConfigError) as info:
        load_detect_config(write(tmp_path, text))
    msg = str(info.value)
    assert needle in msg and str(tmp_path / "detect.yaml") in msg and "\n" not in msg


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DetectConfigError, match="no such config file"):
        load_detect_config(tmp_path / "nope.yaml")


def test_detect_uses_the_config_and_flags_override_it(tmp_path: Path) -> None:
    from service.cli import detect_params

    cfg = write(tmp_path, {"cluster": {"resolution": 0.08}, "graph": {"target_types": ["content"]}})
    p = detect_params(targets="post", config=cfg)
    assert p.cluster.resolution == 0.08 and p.graph.target_types == ("post",)
