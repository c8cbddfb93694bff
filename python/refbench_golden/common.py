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


def compare_json_numbers(expected, actual, rtol: float, atol: float, where: str = "$", atol_at: dict | None = None) -> None:
    """Recursively compares two JSON trees; numbers within tolerance, everything else equal. Raises AssertionError.

    ``atol_at`` maps a path below the root (``"fd_small_eigh"``, ``"kid_small.value"``) to its own absolute
    tolerance, which replaces ``atol + rtol·|expected|`` there (quantities whose rounding bound is known).
    """
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(expected) == set(actual), f"{where}: keys differ"
        for k in expected:
            compare_json_numbers(expected[k], actual[k], rtol, atol, f"{where}.{k}", atol_at)
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(expected) == len(actual), f"{where}: lengths differ"
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare_json_numbers(e, a, rtol, atol, f"{where}[{i}]", atol_at)
    elif isinstance(expected, float) or isinstance(actual, float):
        own = (atol_at or {}).get(where[2:])
        allowed = own if own is not None else atol + rtol * abs(float(expected))
        diff = abs(float(expected) - float(actual))
        assert diff <= allowed, f"{where}: {expected} != {actual} (|Δ| {diff:.3g} > {allowed:.3g})"
    else:
        assert expected == actual, f"{where}: {expected!r} != {actual!r}"
