"""python -m refbench_model.worker: the long-lived PyTorch worker behind the ``ref-ldm`` restorer's ``engine: torch``
(src/lib/server/restorers/ref-ldm/torch-engine.ts). It loads one model once and restores images on request.

Protocol (version ``PROTOCOL``, docs/refldm-runner.md "Protocol"), over stdin / stdout, both directions:

    frame  = u32 little-endian header length | header (UTF-8 JSON object) | blob bytes
    header = {"type": ..., ..., "blobs": [{"name", "dtype": "uint8"|"float32"|"int64", "shape": [...]}, ...]}

The blobs follow the header back to back, in the listed order, little-endian, C order, each exactly
prod(shape) * itemsize bytes. Messages:

- worker -> ``hello`` {protocol, python, torch, numpy, cuda, pid} right after start (``error`` instead of the
  versions when torch / numpy cannot be imported);
- ``load`` {options} -> ``loaded`` {weights, switches, ignored, timesteps, loadMs, ...};
- ``restore`` {id, blobs: lq [H,W,3] u8, ref0.. [H,W,3] u8, xT [1,8,h,w] f32} -> ``step`` {id, i, n} per DDIM step,
  then ``result`` {id, timings, info, blobs: decoded [1,3,H,W] f32, latent [1,8,h,w] f32};
- ``zero-kv`` {id, latentSize} -> ``zero-kv`` {id, layers, blobs: k_00, v_00, ..., k_15, v_15 [H, d, T] f32}
  (the reference pass on one zero latent: the CFG unconditional branch's K/V);
- ``decode`` {id, blobs: latent [1,8,h,w] f32} -> ``decoded`` {id, blobs: decoded [1,3,H,W] f32}: the VAE decoder
  (codebook snap included, fp32) on a given latent, as ``restore`` ends (tests decode both engines from the same
  codes: test/helpers/vq.ts);
- ``shutdown`` -> ``bye``, exit 0. End of input also exits 0.

A request that fails answers ``error`` {id, message, traceback} and the worker stays up. Frames are the only thing
written to the real stdout: anything else printed (Python or native code) goes to stderr, which the TypeScript
side forwards line by line with a prefix. SIGINT is ignored: Ctrl-C belongs to the parent, which stops after the
image in flight and then closes this worker's stdin.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import struct
import sys
import time
import traceback

PROTOCOL = 1
MAX_HEADER_BYTES = 16 * 2**20
_DTYPES = {"uint8": 1, "float32": 4, "int64": 8}


class ProtocolError(RuntimeError):
    """A malformed frame: the stream cannot be trusted any more, the worker exits."""


def _read_exact(f, n: int) -> bytearray | None:
    """Exactly n bytes (a writable buffer, so arrays made over it are writable), or None at a clean end of input."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            if not buf:
                return None
            raise ProtocolError(f"end of input inside a frame ({len(buf)} of {n} bytes)")
        buf += chunk
    return buf


def read_frame(f):
    """(header, {name: numpy array}) or None at end of input."""
    import numpy as np
    head = _read_exact(f, 4)
    if head is None:
        return None
    (n,) = struct.unpack("<I", head)
    if n == 0 or n > MAX_HEADER_BYTES:
        raise ProtocolError(f"header length {n} out of range")
    raw = _read_exact(f, n)
    if raw is None:
        raise ProtocolError("end of input after a frame length")
    header = json.loads(raw.decode("utf-8"))
    blobs = {}
    for b in header.get("blobs", []):
        if b.get("dtype") not in _DTYPES:
            raise ProtocolError(f"blob {b.get('name')!r}: dtype {b.get('dtype')!r} (known: {', '.join(_DTYPES)})")
        shape = [int(d) for d in b["shape"]]
        size = _DTYPES[b["dtype"]]
        for d in shape:
            size *= d
        data = _read_exact(f, size) if size else b""
        if data is None:
            raise ProtocolError(f"end of input inside blob {b['name']!r}")
        blobs[b["name"]] = np.frombuffer(data, dtype="<" + {"uint8": "u1", "float32": "f4", "int64": "i8"}[b["dtype"]]
                                         ).reshape(shape)
    return header, blobs


def write_frame(f, header: dict, blobs=()) -> None:
    """Writes one frame; ``blobs`` is a sequence of (name, numpy array). Needs numpy only when there are blobs (the
    hello frame must be writable from an interpreter that lacks numpy)."""
    metas, datas = [], []
    for name, arr in blobs:
        import numpy as np
        arr = np.ascontiguousarray(arr)
        dt = {np.dtype("uint8"): "uint8", np.dtype("float32"): "float32", np.dtype("int64"): "int64"}[arr.dtype]
        metas.append({"name": name, "dtype": dt, "shape": list(arr.shape)})
        datas.append(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    raw = json.dumps({**header, "blobs": metas}, separators=(",", ":")).encode("utf-8")
    f.write(struct.pack("<I", len(raw)) + raw)
    for d in datas:
        f.write(d)
    f.flush()


# -- requests ---------------------------------------------------------------------------------------------------
def _hello() -> dict:
    h = {"type": "hello", "protocol": PROTOCOL, "python": platform.python_version(), "pid": os.getpid(),
         "executable": sys.executable}
    try:
        import numpy
        h["numpy"] = numpy.__version__
        import torch
        h["torch"] = torch.__version__
        h["cuda"] = {"available": bool(torch.cuda.is_available()), "version": torch.version.cuda,
                     "devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                     if torch.cuda.is_available() else []}
    except ImportError as exc:
        h["error"] = f"cannot import {exc.name or exc}: {exc}"
    return h


class Worker:
    def __init__(self, out):
        self.out = out
        self.engine = None
        self.settings = None

    def send(self, header: dict, blobs=()) -> None:
        write_frame(self.out, header, blobs)

    def load(self, h: dict) -> None:
        import torch
        from .build import build_random
        from .configs import get_config
        from .engine import Engine, SampleSettings, Switches, state_dict_sha256
        from .schedule import ddim_timesteps

        o = h["options"]
        t0 = time.perf_counter()
        if o.get("threads"):
            torch.set_num_threads(int(o["threads"]))
        device = o.get("device", "cpu")
        design = o.get("design", "cachekv")
        w = o["weights"]
        cfg = get_config(o["config"])
        if w["kind"] == "random-init":
            designs = (design,)
            vae, unets = build_random(cfg, int(w["seed"]), designs)
            files = [{"name": "vae (state_dict sha256)", "sha256": state_dict_sha256(vae)}]
            files += [{"name": f"unet-{d} (state_dict sha256)", "sha256": state_dict_sha256(u)} for d, u in unets.items()]
            weights = {"kind": "random-init", "seed": int(w["seed"]), "files": files}
        elif w["kind"] == "checkpoint":
            if design != "cachekv":
                raise ValueError(f"design {design!r}: only cachekv has released weights")
            from .checkpoint import load_official
            hash_files = bool(w.get("hashFiles", True))  # the TypeScript engine hashes (and pin-checks) them first
            vae, unets, info = load_official(cfg, w["ckpt"], w.get("vqgan"), "cpu", bool(w.get("allowPickle")), hash_files)
            files = []
            if hash_files:
                files.append({"name": os.path.basename(w["ckpt"]), "sha256": info["refldmSha256"]})
                if info.get("vqganSha256"):
                    files.append({"name": os.path.basename(w["vqgan"]), "sha256": info["vqganSha256"]})
            weights = {"kind": "checkpoint", "files": files, "vaeSource": info.get("vaeSource")}
        else:
            raise ValueError(f"weights.kind {w['kind']!r}: expected random-init or checkpoint")
        sw = Switches.from_json(o.get("switches", {}))
        vae, unets = vae.to(device), {d: u.to(device) for d, u in unets.items()}  # the engine runs them as given
        self.engine = Engine(vae, unets, device, sw)
        s = o.get("sample", {})
        self.settings = SampleSettings(steps=int(s.get("steps", 100)), schedule=s.get("schedule", "uniform"),
                                       cfg=float(s.get("cfg", 1.5)), design=design,
                                       zero_refs=int(s.get("zeroRefs", 5)), channel_refs=int(s.get("channelRefs", 5)))
        ts = ddim_timesteps(self.settings.steps, self.settings.schedule)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        self.send({"type": "loaded", "config": cfg.name, "design": design, "device": device,
                   "deviceName": torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor()
                   or platform.machine(),
                   "torch": torch.__version__, "threads": torch.get_num_threads(), "weights": weights,
                   "switches": self.engine.switches.to_json(), "requested": self.engine.requested.to_json(),
                   "ignored": dict(self.engine.ignored), "timesteps": [int(t) for t in ts],
                   "attentionLayers": unets[design].attention_layers if design in unets else [],
                   "loadMs": (time.perf_counter() - t0) * 1000.0})

    def restore(self, h: dict, blobs: dict) -> None:
        if self.engine is None:
            raise RuntimeError("restore before load")
        rid = h.get("id")
        refs = [blobs[f"ref{i}"] for i in range(int(h.get("refs", 0)))]
        progress = bool(h.get("progress", True))

        def on_step(i, n):
            if progress:
                self.send({"type": "step", "id": rid, "i": i, "n": n})

        r = self.engine.restore(blobs["lq"], refs, blobs["xT"], self.settings, on_step=on_step)
        self.send({"type": "result", "id": rid, "timings": r.timings_ms, "info": r.info},
                  [("decoded", r.decoded), ("latent", r.latent)])

    def zero_kv(self, h: dict) -> None:
        import torch
        if self.engine is None:
            raise RuntimeError("zero-kv before load")
        e = self.engine
        if "cachekv" not in e.unets:
            raise ValueError("zero-kv needs the cachekv U-Net (load with design cachekv)")
        size = int(h.get("latentSize", 64))
        with torch.inference_mode():
            e._set_geometry(size, size)
            kv = e.zero_kv()
            blobs = []
            for i, (k, v) in enumerate(kv):
                blobs += [(f"k_{i:02d}", k.float().cpu().numpy()), (f"v_{i:02d}", v.float().cpu().numpy())]
        self.send({"type": "zero-kv", "id": h.get("id"), "layers": len(kv)}, blobs)

    def decode(self, h: dict, blobs: dict) -> None:
        import torch
        if self.engine is None:
            raise RuntimeError("decode before load")
        lat = blobs.get("latent")
        if lat is None or lat.ndim != 4 or lat.shape[:2] != (1, 8):
            raise ValueError(f"decode: needs blob 'latent' [1,8,h,w] float32, got {None if lat is None else list(lat.shape)}")
        decoded = self.engine.decode(torch.from_numpy(lat.astype("float32", copy=True)))
        self.send({"type": "decoded", "id": h.get("id")}, [("decoded", decoded)])

    def on_error(self, h: dict, exc: BaseException) -> None:
        try:
            import torch
            if isinstance(exc, torch.cuda.OutOfMemoryError) and self.engine is not None:
                self.engine.clear_plans()
                torch.cuda.empty_cache()
        except ImportError:
            pass
        self.send({"type": "error", "id": h.get("id"), "request": h.get("type"),
                   "message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=8)})


def main() -> int:
    # Frames go to the real stdout only; every other write (print, warnings, native libraries) goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    inp = sys.stdin.buffer
    hello = _hello()
    write_frame(out, hello)
    if "error" in hello:
        return 3
    w = Worker(out)
    while True:
        try:
            fr = read_frame(inp)
        except ProtocolError as exc:
            print(f"refbench worker: protocol error: {exc}", file=sys.stderr, flush=True)
            return 2
        if fr is None:
            return 0
        h, blobs = fr
        kind = h.get("type")
        try:
            if kind == "load":
                w.load(h)
            elif kind == "restore":
                w.restore(h, blobs)
            elif kind == "zero-kv":
                w.zero_kv(h)
            elif kind == "decode":
                w.decode(h, blobs)
            elif kind == "shutdown":
                w.send({"type": "bye"})
                return 0
            else:
                raise ValueError(f"unknown request type {kind!r}")
        except Exception as exc:  # noqa: BLE001 - answered as an error frame; the worker stays up
            w.on_error(h, exc)


if __name__ == "__main__":
    sys.exit(main())
