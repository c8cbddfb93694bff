"""onnxruntime (Python) backend for the reference sampler: runs a bundle's graphs behind the same interface as
``refbench_model.sampler.TorchBackend`` (used by the parity tests and ``refbench_golden.refldm`` check mode)."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import onnxruntime as ort

from .bundle import DESIGN_GRAPH


class OrtBackend:
    def __init__(self, bundle_dir: str | pathlib.Path, providers=("CPUExecutionProvider",), threads: int = 0):
        self.dir = pathlib.Path(bundle_dir)
        self.meta = json.loads((self.dir / "bundle.json").read_text())
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        self._so, self._providers = so, list(providers)
        self._sessions: dict[str, ort.InferenceSession] = {}

    def session(self, graph: str) -> ort.InferenceSession:
        if graph not in self._sessions:
            spec = self.meta["graphs"].get(graph)
            if spec is None:
                raise KeyError(f"{self.dir / 'bundle.json'}: graph {graph!r} not in bundle (has {list(self.meta['graphs'])})")
            self._sessions[graph] = ort.InferenceSession(str(self.dir / spec["file"]), self._so, providers=self._providers)
        return self._sessions[graph]

    def encode(self, img: np.ndarray) -> np.ndarray:
        return self.session("vaeEncoder").run(None, {"image": np.ascontiguousarray(img, np.float32)})[0]

    def decode(self, lat: np.ndarray) -> np.ndarray:
        return self.session("vaeDecoder").run(None, {"latent": np.ascontiguousarray(lat, np.float32)})[0]

    def ref_kv(self, lat: np.ndarray):
        outs = self.session("unetRef").run(None, {"ref_latent": np.ascontiguousarray(lat, np.float32)})
        n = len(outs) // 2
        return [(outs[i], outs[n + i]) for i in range(n)]

    def eps(self, design: str, x: np.ndarray, t: np.ndarray, cond) -> np.ndarray:
        g = DESIGN_GRAPH[design]
        feeds = {"x": np.ascontiguousarray(x, np.float32), "t": np.ascontiguousarray(t, np.int64)}
        if design == "cachekv":
            for i, (k, v) in enumerate(cond):
                feeds[f"k_{i:02d}"] = np.ascontiguousarray(k, np.float32)
                feeds[f"v_{i:02d}"] = np.ascontiguousarray(v, np.float32)
        else:
            feeds["refs"] = np.ascontiguousarray(cond, np.float32)
        return self.session(g).run(None, feeds)[0]
