"""The fast PyTorch ReF-LDM engine: the reference sampler's semantics (sampler.py, docs/model.md §5-8)
with every tensor kept on the device and a set of speed switches, each of which can be turned on alone.

Switches (``Switches``; JSON names in brackets, as recorded in run.json and the benchmark JSON):

- ``cfg_batch`` [cfgBatch]: CFG's unconditional and conditional main passes as one B = 2 batch [uncond, cond], as
  the official DDIM sampler does; off = one U-Net pass per branch (slower; kept to measure what batching buys).
- ``attention`` [attention]: ``math`` (the official arithmetic) or ``sdpa``
  (``torch.nn.functional.scaled_dot_product_attention``) in every U-Net and VAE attention layer. Passed down with
  every forward call (unet.py), never written into the modules: engines may share modules.
- ``kv_cache`` [kvCache]: ``concat`` (the official CacheKV: every layer concatenates [own, reference] K/V at every
  step) or ``buffers`` (per layer one preallocated [own | references] buffer whose reference part is written once
  per image; the layer writes its own K/V into the head of it). Either way the reference K/V are computed once per
  image and stay on the device.
- ``ref_pass`` [refPass]: ``loop`` (the official reference pass: one U-Net pass per reference, in strip order,
  with B = 2 [zero latent, reference latent] under CFG, B = 1 without; docs/model.md §7.2) or ``batched`` (the N
  references as one batch; the zero-reference K/V of the unconditional branch are a constant of the model, computed
  once per engine and tiled, as the TypeScript runner does).
- ``dtype`` [dtype]: ``fp32`` | ``bf16`` | ``fp16`` autocast for the VAE encoder and the U-Net. The decoder (with
  the codebook ArgMin) and the DDIM/CFG arithmetic stay fp32.
- ``compile`` [compile]: ``torch.compile`` of the fixed-shape U-Net step (CUDA only).
- ``cuda_graphs`` [cudaGraphs]: one CUDA graph per fixed-shape U-Net step, replayed at every DDIM step (CUDA only).
- ``cudnn_benchmark`` [cudnnBenchmark]: cuDNN autotuning of the convolutions (CUDA only).

CUDA-only switches asked for on the CPU are ignored and the reason is recorded (``Engine.ignored``); so is a CUDA
graph capture that fails. ``EAGER`` is the official arithmetic and batching (CFG batched, math attention,
concatenated K/V, the per-reference loop, fp32): its latents and decoder output are the reference sampler's
(sampler.py) bit for bit (python/tests/test_refldm_engine.py). ``FASTEST`` is the candidate fast variant of the
benchmark.

The engine never changes the modules it is given (no ``.to``, ``.eval`` or attribute writes): they must already be
on the device and in eval mode (a clear error otherwise), and the attention kernel travels with each call.

Inputs are what the TypeScript runner sends: uint8 HWC images already at the model's size (the runner resizes),
x_T as float32 [1, 8, h, w]; outputs are the raw decoder output (float32 [1, 3, H, W]) and the final latent, so the
runner quantises exactly as the onnx engine does.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .sampler import Timer
from .schedule import ddim_tables, ddim_timesteps
from .unet import legacy_attention

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DESIGNS = ("cachekv", "spatial", "cross", "channel")
#: Step plans (static buffers, captured graphs) kept per engine; the oldest is dropped beyond this.
MAX_PLANS = 6


@dataclass(frozen=True)
class Switches:
    """The engine's speed switches (module doc). Defaults: numerically the reference (fp32), no CUDA extras."""

    cfg_batch: bool = True
    attention: str = "sdpa"
    kv_cache: str = "buffers"
    ref_pass: str = "batched"
    dtype: str = "fp32"
    compile: bool = False
    cuda_graphs: bool = False
    cudnn_benchmark: bool = False

    def __post_init__(self):
        checks = {"attention": ("math", "sdpa"), "kv_cache": ("concat", "buffers"), "ref_pass": ("loop", "batched"),
                  "dtype": tuple(DTYPES)}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")

    def to_json(self) -> dict:
        """camelCase, as recorded in run.json and the benchmark JSON."""
        return {"cfgBatch": self.cfg_batch, "attention": self.attention, "kvCache": self.kv_cache,
                "refPass": self.ref_pass, "dtype": self.dtype, "compile": self.compile,
                "cudaGraphs": self.cuda_graphs, "cudnnBenchmark": self.cudnn_benchmark}

    @staticmethod
    def from_json(d: dict) -> "Switches":
        names = {"cfgBatch": "cfg_batch", "attention": "attention", "kvCache": "kv_cache", "refPass": "ref_pass",
                 "dtype": "dtype", "compile": "compile", "cudaGraphs": "cuda_graphs",
                 "cudnnBenchmark": "cudnn_benchmark"}
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ValueError(f"unknown switch(es) {', '.join(unknown)}; known: {', '.join(names)}")
        return Switches(**{names[k]: v for k, v in d.items()})


#: The official arithmetic and batching: CFG as one B = 2 batch, math attention, K/V concatenated per layer and step,
#: one reference pass per reference (B = 2 with CFG), fp32, eager. Bit-equal to the reference sampler (sampler.py).
EAGER = Switches(cfg_batch=True, attention="math", kv_cache="concat", ref_pass="loop", dtype="fp32")
#: The fast candidate of the benchmark (on the CPU its CUDA-only parts are ignored, with the reason recorded).
FASTEST = Switches(cfg_batch=True, attention="sdpa", kv_cache="buffers", ref_pass="batched", dtype="bf16",
                   cuda_graphs=True, cudnn_benchmark=True)


@dataclass(frozen=True)
class SampleSettings:
    """Per-restorer sampling settings (the same keys as the onnx engine's options)."""

    steps: int = 100
    schedule: str = "uniform"
    cfg: float = 1.5
    design: str = "cachekv"
    zero_refs: int = 5
    channel_refs: int = 5


def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def resolve_switches(sw: Switches, device: str) -> tuple[Switches, dict[str, str]]:
    """The switches that take effect on ``device`` and, per ignored switch, why (recorded, never silent)."""
    ignored: dict[str, str] = {}
    if not is_cuda(device):
        if sw.compile:
            ignored["compile"] = ("torch.compile is used on cuda only (on the CPU inductor needs a C++ toolchain and "
                                  "is not part of the measured path)")
        if sw.cuda_graphs:
            ignored["cudaGraphs"] = "CUDA graphs need device cuda"
        if sw.cudnn_benchmark:
            ignored["cudnnBenchmark"] = "cuDNN autotuning needs device cuda"
        sw = dataclasses.replace(sw, compile=False, cuda_graphs=False, cudnn_benchmark=False)
    return sw, ignored


def state_dict_sha256(module: torch.nn.Module) -> str:
    """sha256 over name, dtype, shape and bytes of every state-dict tensor, in order: the identity of weights that
    exist only in memory (random init); equal digests mean bit-equal weights."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


# -- memory ----------------------------------------------------------------------------------------------------
def _vmhwm_bytes() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reset_peak_memory(device: str) -> str:
    """Resets the peak-memory counter; returns the method that ``peak_memory_bytes`` will use."""
    if is_cuda(device):
        torch.cuda.reset_peak_memory_stats()
        return "cuda-max-allocated"
    try:
        with open("/proc/self/clear_refs", "w") as f:  # Linux: "5" resets VmHWM to the current RSS
            f.write("5")
        return "rss-vmhwm-reset" if _vmhwm_bytes() is not None else "n/a"
    except OSError:
        return "n/a"


def peak_memory_bytes(device: str, method: str) -> int | None:
    """Peak since ``reset_peak_memory``: CUDA allocated bytes, or the process's peak RSS (CPU, Linux), else None."""
    if method == "cuda-max-allocated":
        return int(torch.cuda.max_memory_allocated())
    if method == "rss-vmhwm-reset":
        return _vmhwm_bytes()
    return None


def peak_reserved_bytes(device: str) -> int | None:
    """CUDA: peak bytes reserved by the caching allocator since the reset (holds CUDA graph pools, which
    ``max_memory_allocated`` may not count); None elsewhere."""
    return int(torch.cuda.max_memory_reserved()) if is_cuda(device) else None


def current_memory_bytes(device: str) -> int | None:
    if is_cuda(device):
        return int(torch.cuda.memory_allocated())
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


# -- conditioning storage -----------------------------------------------------------------------------------------
class KvBuffer:
    """One attention layer's [own | ref0 .. refN-1] keys and values, preallocated token-major ([B*H, (1+N)*T, d],
    the layout SDPA reads without a copy). The reference part is written once per image (``fill``); the layer
    writes its own K/V into the head at every step (``attend``)."""

    def __init__(self, rows: int, head_dim: int, tokens: int, ref_tokens: int, dtype, device):
        self.tokens = tokens
        self.k = torch.zeros(rows, tokens + ref_tokens, head_dim, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)

    def fill(self, k_ref: torch.Tensor, v_ref: torch.Tensor) -> None:
        """k_ref, v_ref [B*H, d, R] (the reference pass layout)."""
        self.k[:, self.tokens:].copy_(k_ref.transpose(1, 2))
        self.v[:, self.tokens:].copy_(v_ref.transpose(1, 2))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, impl: str) -> torch.Tensor:
        """q, k, v [B*H, d, T] of the main pass -> attention output [B*H, d, T] over [own | references]."""
        self.k[:, : self.tokens].copy_(k.transpose(1, 2))
        self.v[:, : self.tokens].copy_(v.transpose(1, 2))
        if impl == "sdpa":
            return F.scaled_dot_product_attention(q.transpose(1, 2).contiguous(), self.k, self.v,
                                                  scale=q.shape[1] ** -0.5).transpose(1, 2)
        return legacy_attention(q, self.k.transpose(1, 2), self.v.transpose(1, 2), "math")


def _raise_recompile_limit(limit: int = 64) -> None:
    """Every plan compiles the same method for another ``self``: dynamo's default limit (8 entries per code object)
    would silently fall back to eager after eight plans."""
    cfg = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit"):
        if hasattr(cfg, name):
            setattr(cfg, name, max(int(getattr(cfg, name)), limit))


class StepPlan:
    """The fixed-shape U-Net step of one CFG branch layout: static input buffers (x_in, t, conditioning), the eps
    call, and optionally its compiled form and CUDA graph. Reused for every image with the same shapes; only the
    buffer contents change."""

    def __init__(self, engine: "Engine", design: str, batch: int, n_refs: int, cond):
        self.engine, self.design, self.batch = engine, design, batch
        e = engine
        self.x = torch.zeros(batch, 2 * e.latent_channels, e.latent_h, e.latent_w, device=e.device)
        self.t = torch.zeros(batch, dtype=torch.int64, device=e.device)
        if design == "cachekv":
            if e.switches.kv_cache == "buffers":
                # own tokens per layer = one reference's tokens (same latent size): R / N
                self.cond = [KvBuffer(k.shape[0], k.shape[1], k.shape[2] // n_refs, k.shape[2], e.compute_dtype,
                                      e.device) for k, _ in cond]
            else:
                self.cond = [(torch.empty_like(k), torch.empty_like(v)) for k, v in cond]
        else:
            self.cond = torch.empty_like(cond)
        self.set_cond(cond)
        self.graph = None
        self.out = None
        self.fn = self._eps
        if e.switches.compile:
            _raise_recompile_limit()
            self.fn = torch.compile(self._eps, dynamic=False)  # CUDA only (resolve_switches)

    def set_cond(self, cond) -> None:
        """Writes one image's conditioning into the static storage (K/V per layer, or the reference tensor)."""
        if self.design != "cachekv":
            self.cond.copy_(cond)
        elif isinstance(self.cond[0], KvBuffer):
            for buf, (k, v) in zip(self.cond, cond):
                buf.fill(k, v)
        else:
            for (ks, vs), (k, v) in zip(self.cond, cond):
                ks.copy_(k)
                vs.copy_(v)

    def set_lq(self, z_lq: torch.Tensor) -> None:
        self.x[:, self.engine.latent_channels:].copy_(z_lq.expand(self.batch, -1, -1, -1))

    def _eps(self) -> torch.Tensor:
        u = self.engine.unets[self.design]
        with self.engine.autocast(graph=self.graph is not None or self.engine.switches.cuda_graphs):
            if self.design == "cachekv":
                e = u.eps(self.x, self.t, self.cond, attn=self.engine.attn)
            else:
                e = getattr(u, f"eps_{self.design}")(self.x, self.t, self.cond, attn=self.engine.attn)
        return e.float()

    def __call__(self, x_t: torch.Tensor, t: int) -> torch.Tensor:
        """eps [B, 8, h, w] (fp32) for x_t [1, 8, h, w] at timestep t; the result is overwritten by the next call."""
        self.x[:, : self.engine.latent_channels].copy_(x_t.expand(self.batch, -1, -1, -1))
        self.t.fill_(t)
        if self.graph is not None:
            self.graph.replay()
            return self.out
        if self.engine.switches.cuda_graphs and "cudaGraphs" not in self.engine.ignored:
            self._capture()
            if self.graph is not None:
                self.graph.replay()
                return self.out
        return self.fn()

    def _capture(self) -> None:
        """CUDA-only: warm the step up on a side stream (as capture requires), then capture one call. A failure
        turns CUDA graphs off for this engine with the reason recorded."""
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self.fn()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self.out = self.fn()
            self.graph = graph
        except Exception as exc:  # noqa: BLE001 - recorded, the engine goes on eagerly
            self.graph = None
            self.engine.ignored["cudaGraphs"] = f"capture failed: {type(exc).__name__}: {exc}"


def _check_module(name: str, m: torch.nn.Module, device: str) -> None:
    """The engine runs the modules as given: on ``device`` and in eval mode, or a ValueError naming the module."""
    want = torch.device(device)
    for p in m.parameters():
        d = p.device
        if d.type != want.type or (want.index is not None and d.index != want.index):
            raise ValueError(f"{name}: its weights are on {d}, the engine's device is {device}; move the module "
                             f"there first (the engine does not change modules it is given)")
    if any(x.training for x in m.modules()):
        raise ValueError(f"{name}: in training mode; call .eval() on it first (the engine does not change modules "
                         f"it is given)")


@dataclass
class EngineResult:
    decoded: np.ndarray  # raw decoder output [1, 3, H, W] float32 (about [-1, 1], unclamped)
    latent: np.ndarray  # final DDIM latent [1, 8, h, w] float32
    timings_ms: dict
    info: dict


class Engine:
    """One loaded model (VAE + the U-Nets of the designs it may run) on one device, with fixed switches."""

    def __init__(self, vae, unets: dict, device: str = "cpu", switches: Switches = Switches()):
        if is_cuda(device) and not torch.cuda.is_available():
            raise RuntimeError("device cuda: CUDA is not available in this torch build "
                               f"(torch {torch.__version__}, cuda {torch.version.cuda})")
        self.device = device
        self.requested = switches
        self.switches, self.ignored = resolve_switches(switches, device)
        self.compute_dtype = DTYPES[self.switches.dtype]
        for name, m in (("vae", vae), *((f"unet {d}", u) for d, u in unets.items())):
            _check_module(name, m, device)
        self.vae, self.unets = vae, dict(unets)
        self.attn = self.switches.attention
        self.latent_channels = vae.cfg.embed_dim
        self.latent_h = self.latent_w = 0
        self._plans: OrderedDict = OrderedDict()
        self._zero_kv = None

    # -- helpers ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _cudnn(self):
        """cuDNN autotuning as this engine's switch says, for the duration of one image; the process-wide flag is
        restored afterwards (another engine in the process keeps its own setting)."""
        if not is_cuda(self.device):
            yield
            return
        before = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = self.switches.cudnn_benchmark
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = before

    def autocast(self, graph: bool = False):
        """Autocast to the engine's dtype (fp32: disabled). The cast cache is off inside CUDA graph capture."""
        kind = "cuda" if is_cuda(self.device) else "cpu"
        if self.switches.dtype == "fp32":
            return torch.autocast(kind, enabled=False)
        return torch.autocast(kind, dtype=self.compute_dtype, cache_enabled=not graph)

    def _image(self, u8: np.ndarray) -> torch.Tensor:
        """uint8 HWC -> [1, 3, H, W] float32 in [-1, 1] (u8 / 127.5 - 1, as the reference sampler)."""
        if u8.dtype != np.uint8 or u8.ndim != 3 or u8.shape[2] != 3:
            raise ValueError(f"expected uint8 HxWx3 RGB, got {u8.dtype} {u8.shape}")
        t = torch.from_numpy(np.array(u8, dtype=np.uint8, order="C")).to(self.device)  # a writable copy
        return (t.permute(2, 0, 1)[None].float() / 127.5 - 1.0).contiguous()

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        with self.autocast():
            return self.vae.encode(x, attn=self.attn).float()

    def _set_geometry(self, h: int, w: int) -> None:
        if (h, w) != (self.latent_h, self.latent_w):
            self.latent_h, self.latent_w = h, w
            self.clear_plans()

    def clear_plans(self) -> None:
        """Drops every cached step plan (buffers and CUDA graphs), e.g. between benchmark measurements."""
        self._plans.clear()
        self._zero_kv = None

    def _plan(self, key, design: str, batch: int, n_refs: int, cond) -> StepPlan:
        plan = self._plans.get(key)
        if plan is None:
            plan = StepPlan(self, design, batch, n_refs, cond)
            self._plans[key] = plan
            while len(self._plans) > MAX_PLANS:
                self._plans.popitem(last=False)
        else:
            plan.set_cond(cond)
            self._plans.move_to_end(key)
        return plan

    # -- the reference pass ----------------------------------------------------------------------------------
    def _ref_kv(self, lat: torch.Tensor) -> list:
        """Reference pass on [n, 8, h, w] latents -> 16 (k, v) [n*H, d, T] in the compute dtype."""
        with self.autocast():
            return self.unets["cachekv"].ref_kv(lat, attn=self.attn)

    def zero_kv(self) -> list:
        """K/V of one zero reference latent (the CFG unconditional branch's input; a constant of the model)."""
        if self._zero_kv is None:
            z = torch.zeros(1, self.latent_channels, self.latent_h, self.latent_w, device=self.device)
            self._zero_kv = self._ref_kv(z)
        return self._zero_kv

    @staticmethod
    def _tokens_of(kv, n: int) -> list:
        """[n*H, d, T] (n references as a batch) -> [H, d, n*T] (tokens in reference order)."""
        out = []
        for k, v in kv:
            nh, d, t = k.shape
            h = nh // n
            out.append(tuple(a.reshape(n, h, d, t).permute(1, 2, 0, 3).reshape(h, d, n * t) for a in (k, v)))
        return out

    def _cachekv_cond(self, lats: list, zero: bool, use_cfg: bool) -> tuple[list | None, list, int]:
        """(uncond K/V or None, cond K/V), each 16 (k, v) [H, d, N*T], and the reference-pass batch size."""
        n = len(lats)
        if self.switches.ref_pass == "loop":
            # NOTE: the official loop (docs/model.md §7.2): one pass per reference in strip order, with CFG one B = 2
            # batch [zero latent, reference latent]; the K/V of the N passes concatenated on the token axis. Rows
            # 0..H-1 are the unconditional branch's, H..2H-1 the conditional's.
            kvs = [self._ref_kv(torch.cat([torch.zeros_like(lat), lat]) if use_cfg else lat) for lat in lats]
            kv = [(torch.cat([p[i][0] for p in kvs], -1), torch.cat([p[i][1] for p in kvs], -1))
                  for i in range(len(kvs[0]))]
            if not use_cfg:
                return None, kv, 1
            half = [k.shape[0] // 2 for k, _ in kv]
            return ([(k[:h], v[:h]) for (k, v), h in zip(kv, half)], [(k[h:], v[h:]) for (k, v), h in zip(kv, half)],
                    2)
        zero_t = [(k.repeat(1, 1, n), v.repeat(1, 1, n)) for k, v in self.zero_kv()]
        cond = zero_t if zero else self._tokens_of(self._ref_kv(torch.cat(lats, 0)), n)
        return (zero_t if use_cfg else None), cond, 0 if zero else n

    @torch.inference_mode()
    def decode(self, x: torch.Tensor) -> np.ndarray:
        """The VAE decoder (codebook snap included) on latent x [1, 8, h, w] with this engine's attention kernel ->
        float32 [1, 3, H, W]: what ``restore`` ends with, also the worker's ``decode`` request."""
        # NOTE: decode stays fp32 (codebook ArgMin is precision-sensitive; docs/model.md §13.2).
        return self.vae.decode(x.to(self.device), attn=self.attn).float().cpu().numpy()

    # -- one image -------------------------------------------------------------------------------------------
    @torch.inference_mode()
    def restore(self, lq: np.ndarray, refs: list, x_t: np.ndarray, settings: SampleSettings,
                on_step=None, step_timings: bool = True) -> EngineResult:
        """One restoration. lq / refs: uint8 HWC (the model's size); x_t float32 [1, 8, h, w] (not modified)."""
        with self._cudnn():
            return self._restore(lq, refs, x_t, settings, on_step, step_timings)

    def _restore(self, lq, refs, x_t, settings: SampleSettings, on_step, step_timings: bool) -> EngineResult:
        s = settings
        if s.design not in self.unets:
            raise ValueError(f"design {s.design!r} is not loaded (loaded: {', '.join(self.unets)})")
        timer = Timer(self.device)
        mem_method = reset_peak_memory(self.device)
        t_all = timer.now()
        t0 = t_all
        lq_t = self._image(lq)
        h, w = lq_t.shape[2] // 8, lq_t.shape[3] // 8
        self._set_geometry(h, w)
        ref_ts = [self._image(r) for r in refs]
        for i, r in enumerate(ref_ts):
            if r.shape != lq_t.shape:
                raise ValueError(f"reference {i} is {tuple(r.shape[2:])}, the LQ {tuple(lq_t.shape[2:])}")
        strip = torch.cat(ref_ts, dim=3) if ref_ts else None
        x = torch.from_numpy(np.ascontiguousarray(x_t, dtype=np.float32)).to(self.device)
        if tuple(x.shape) != (1, self.latent_channels, h, w):
            raise ValueError(f"x_T is {tuple(x.shape)}, expected (1, {self.latent_channels}, {h}, {w})")
        timer.add("preprocessMs", t0)

        t0 = timer.now()
        z_lq = self._encode(lq_t)
        if strip is not None:
            wide = self._encode(strip)
            lats = list(wide.split(w, dim=3))  # one pass over the strip, split along width (section 7.1)
            zero = False
        else:
            if s.zero_refs < 1:
                raise ValueError("zeroRefs must be >= 1 (the model has no N = 0 path; docs/model.md §8)")
            lats = [torch.zeros_like(z_lq) for _ in range(s.zero_refs)]
            zero = True
        timer.add("encodeMs", t0)

        use_cfg = float(s.cfg) != 1.0
        batched = use_cfg and self.switches.cfg_batch
        t0 = timer.now()
        info: dict = {"design": s.design, "refsUsed": len(refs), "zeroRefs": len(lats) if zero else 0,
                      "batch": 2 if batched else 1, "cfgPasses": 2 if use_cfg else 1}
        n = len(lats)
        if s.design == "cachekv":
            unc, cond, ref_batch = self._cachekv_cond(lats, zero, use_cfg)
            info["refPassBatch"] = ref_batch
            branches = ([("uc", [(torch.cat([a[0], b[0]]), torch.cat([a[1], b[1]])) for a, b in zip(unc, cond)])]
                        if batched else ([("u", unc)] if use_cfg else []) + [("c", cond)])
        else:
            if s.design in ("spatial", "cross"):
                ref = torch.cat(lats, dim=3)
            else:
                used = min(n, s.channel_refs)
                # NOTE: as the onnx engine: fewer refs repeat cyclically (training's dup_to_max_num_refs), more are
                # cut (the Python reference sampler raises instead); both recorded.
                ref = torch.cat([lats[j % used] for j in range(s.channel_refs)], dim=1)
                info.update(channelSlots=s.channel_refs, channelRefsUsed=0 if zero else used,
                            channelRefsRepeated=s.channel_refs - used, channelRefsDropped=n - used)
            zeros = torch.zeros_like(ref)
            branches = ([("uc", torch.cat([zeros, ref]))] if batched
                        else ([("u", zeros)] if use_cfg else []) + [("c", ref)])
        plans = {}
        for name, c in branches:
            p = self._plan((s.design, name, n), s.design, 2 if name == "uc" else 1, n, c)
            p.set_lq(z_lq)
            plans[name] = p
        timer.add("refPassMs", t0)

        ts = ddim_timesteps(s.steps, s.schedule)
        a_tab, ap_tab = ddim_tables(ts)
        # DDIM coefficients as float32 scalars, computed exactly as the reference sampler does.
        a_t = torch.from_numpy(a_tab)
        a_p = torch.from_numpy(ap_tab)
        coef = torch.stack([torch.from_numpy(np.sqrt(np.float32(1.0) - a_tab)), a_t.sqrt(), a_p.sqrt(),
                            (1.0 - a_p).sqrt()]).to(self.device)
        cfg = float(s.cfg)
        t_loop = timer.now()
        steps_ms: list[float] = []
        for k, index in enumerate(reversed(range(len(ts)))):
            t1 = timer.now() if step_timings else 0.0
            t = int(ts[index])
            if batched:
                e_u, e_c = plans["uc"](x, t).chunk(2)
                e = e_u + cfg * (e_c - e_u)
            elif use_cfg:
                e_u = plans["u"](x, t)  # each plan has its own output buffer: e_u survives the next call
                e_c = plans["c"](x, t)
                e = e_u + cfg * (e_c - e_u)
            else:
                e = plans["c"](x, t)
            s1m, sa, sap, s1map = coef[:, index]
            pred_x0 = (x - s1m * e) / sa
            x = sap * pred_x0 + s1map * e
            if step_timings:
                steps_ms.append((timer.now() - t1) * 1000.0)
            if on_step is not None:
                on_step(k + 1, len(ts))
        timer.add("stepsTotalMs", t_loop)

        t0 = timer.now()
        decoded_np = self.decode(x)
        latent_np = x.cpu().numpy()
        timer.add("decodeMs", t0)
        timings = {**timer.stages, "stepsMs": steps_ms, "totalMs": (timer.now() - t_all) * 1000.0}
        info.update(stepsRun=len(ts), deviceMemoryMethod=mem_method,
                    devicePeakBytes=peak_memory_bytes(self.device, mem_method),
                    devicePeakReservedBytes=peak_reserved_bytes(self.device))
        if self.ignored:
            info["ignored"] = dict(self.ignored)
        return EngineResult(decoded_np, latent_np, timings, info)
