"""Helpers shared by the golden generators: writing JSON/binary goldens and comparing them in check mode."""
from __future__ import annotations

import json
import pathlib
import numpy as np


def write_json(path: pathlib.Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, sort_keys=True) + "\n")


def write_f32(path: pathlib.Path, arr) -> None:
    """Raw little-endian float32 (the TS side reads it with new Float32Array(buffer))."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(arr, dtype="<f4").tofile(path)


def compare_json_numbers(expected, actual, rtol: float, atol: float, where: str = "$") -> None:
    """Recursively compares two JSON trees; numbers within tolerance, everything else equal. Raises AssertionError."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(expected) == set(actual), f"{where}: keys differ"
        for k in expected:
            compare_json_numbers(expected[k], actual[k], rtol, atol, f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(expected) == len(actual), f"{where}: lengths differ"
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare_json_numbers(e, a, rtol, atol, f"{where}[{i}]")
    elif isinstance(expected, float) or isinstance(actual, float):
        assert abs(float(expected) - float(actual)) <= atol + rtol * abs(float(expected)), f"{where}: {expected} != {actual}"
    else:
        assert expected == actual, f"{where}: {expected!r} != {actual!r}"
