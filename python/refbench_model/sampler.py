"""Reference ReF-LDM sampler: DDIM (eta 0) + classifier-free guidance + CacheKV / alternative fusion designs.

Mirrors the official ``DDIMSampler`` + ``DiffusionWrapper`` semantics (docs/model.md §5-8):
- LQ -> pre-quantisation latent z_lq; references -> ONE wide strip [1,3,512,512N] -> one VAE pass -> N latents.
- 0 references -> k zero latents (default k = 5, recorded in the result).
- CFG scale s: s == 1.0 runs a single conditional pass; otherwise batch [uncond, cond] where uncond = same
  z_lq with zeroed reference latents (still run through CacheKV / the design's reference path).
- CacheKV: one reference pass per reference (B = 2 with CFG: row 0 zero ref, row 1 real ref) at t = 0; each
  layer's K/V of the N refs are concatenated on the token axis in strip order and appended after the main tokens.
- Output image: trunc(clamp((x + 1) / 2, 0, 1) * 255) as uint8 HWC.

The model calls go through a backend (``TorchBackend`` here, ``OrtBackend`` in refbench_export.ort_backend), so
the same loop drives PyTorch and onnxruntime for parity tests.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .schedule import ddim_tables, ddim_timesteps


def to_model_input(img_u8: np.ndarray) -> np.ndarray:
    """uint8 HWC RGB -> float32 [1,3,H,W] in [-1,1] (u8 / 127.5 - 1)."""
    if img_u8.dtype != np.uint8 or img_u8.ndim != 3 or img_u8.shape[2] != 3:
        raise ValueError(f"expected uint8 HxWx3 RGB, got {img_u8.dtype} {img_u8.shape}")
    return (img_u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)).transpose(2, 0, 1)[None].copy()


def to_uint8_image(x: np.ndarray) -> np.ndarray:
    """[1,3,H,W] decoder output -> uint8 HWC, trunc(clamp((x+1)/2, 0, 1) * 255) (official quantisation)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    t = torch.clamp((t + 1.0) / 2.0, min=0.0, max=1.0)
    return (t[0] * 255.0).to(torch.uint8).permute(1, 2, 0).numpy().copy()


class Timer:
    """Per-stage wall-clock timings in ms (synchronises CUDA before reading the clock)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.stages: dict[str, float] = {}
        self.steps: list[float] = []

    def _sync(self):
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()

    def now(self) -> float:
        self._sync()
        return time.perf_counter()

    def add(self, name: str, t0: float) -> None:
        self.stages[name] = self.stages.get(name, 0.0) + (self.now() - t0) * 1000.0


class TorchBackend:
    """PyTorch models behind the sampler interface. Arrays in/out are numpy float32 (CPU)."""

    def __init__(self, vae, unets: dict, device: str = "cpu", precision: str = "fp32"):
        self.vae, self.unets, self.device, self.precision = vae, unets, device, precision
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
        if precision == "bf16" and not device.startswith("cuda"):
            raise ValueError("bf16 autocast is supported on cuda only")

    def _t(self, a) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    def _ctx(self):
        if self.precision == "bf16":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    @staticmethod
    def _np(t: torch.Tensor) -> np.ndarray:
        return t.detach().float().cpu().numpy()

    @torch.no_grad()
    def encode(self, img: np.ndarray) -> np.ndarray:
        with self._ctx():
            return self._np(self.vae.encode(self._t(img)))

    @torch.no_grad()
    def decode(self, lat: np.ndarray) -> np.ndarray:
        # NOTE: decode stays fp32 (codebook ArgMin is precision-sensitive; docs/model.md §13.2).
        return self._np(self.vae.decode(self._t(lat)))

    @torch.no_grad()
    def ref_kv(self, lat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        with self._ctx():
            return [(self._np(k), self._np(v)) for k, v in self.unets["cachekv"].ref_kv(self._t(lat))]

    @torch.no_grad()
    def eps(self, design: str, x: np.ndarray, t: np.ndarray, cond) -> np.ndarray:
        u = self.unets[design]
        xt, tt = self._t(x), self._t(t)
        with self._ctx():
            if design == "cachekv":
                kv = [(self._t(k), self._t(v)) for k, v in cond]
                return self._np(u.eps(xt, tt, kv))
            return self._np(getattr(u, f"eps_{design}")(xt, tt, self._t(cond)))


@dataclass
class SampleResult:
    latent: np.ndarray  # final DDIM latent [1,8,64,64] float32
    image: np.ndarray  # uint8 HWC
    decoded: np.ndarray  # raw decoder output [1,3,H,W]
    z_lq: np.ndarray
    ref_latents: list  # N latents [1,8,64,64] actually used (zero latents when none given)
    num_refs: int  # references given
    zero_refs: int  # zero latents used instead (0 when refs were given)
    timesteps: list
    timings_ms: dict = field(default_factory=dict)


def encode_strip(backend, refs: list[np.ndarray]) -> list[np.ndarray]:
    """Concatenates the references along width, encodes once, splits the latent into N [1,8,h,w] chunks."""
    strip = np.concatenate([to_model_input(r) for r in refs], axis=3)
    lat = backend.encode(strip)
    n = len(refs)
    w = lat.shape[3] // n
    return [np.ascontiguousarray(lat[:, :, :, i * w:(i + 1) * w]) for i in range(n)]


def build_cond(backend, design: str, ref_lats: list[np.ndarray], use_cfg: bool, channel_refs: int = 5):
    """The design's reference conditioning for batch [uncond, cond] (or [cond] without CFG)."""
    def rows(a: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros_like(a), a], axis=0) if use_cfg else a

    if design == "cachekv":
        per_ref = [backend.ref_kv(rows(r)) for r in ref_lats]  # one reference pass per reference, in order
        return [(np.concatenate([p[i][0] for p in per_ref], axis=-1), np.concatenate([p[i][1] for p in per_ref], axis=-1))
                for i in range(len(per_ref[0]))]
    if design in ("spatial", "cross"):
        return rows(np.concatenate(ref_lats, axis=3))
    if design == "channel":
        if len(ref_lats) > channel_refs:
            raise ValueError(f"channel design takes at most {channel_refs} references, got {len(ref_lats)}")
        # NOTE: fewer refs are repeated cyclically to the fixed count, as training's dup_to_max_num_refs.
        lats = [ref_lats[i % len(ref_lats)] for i in range(channel_refs)]
        return rows(np.concatenate(lats, axis=1))
    raise ValueError(f"unknown design {design!r}")


def sample(backend, lq: np.ndarray, refs: list[np.ndarray], x_t: np.ndarray, *, steps: int = 100,
           schedule: str = "uniform", cfg: float = 1.5, design: str = "cachekv", zero_refs: int = 5,
           timer: Timer | None = None) -> SampleResult:
    """One ReF-LDM restoration. lq / refs: uint8 HWC 512x512; x_t: [1,8,64,64] float32 (data, not a seed)."""
    timer = timer or Timer()
    t0 = timer.now()
    z_lq = backend.encode(to_model_input(lq))
    if refs:
        ref_lats = encode_strip(backend, refs)
        n_zero = 0
    else:
        if zero_refs < 1:
            raise ValueError("zero_refs must be >= 1 (the model has no N = 0 path; see docs/model.md §8)")
        ref_lats = [np.zeros_like(z_lq) for _ in range(zero_refs)]
        n_zero = zero_refs
    timer.add("encodeMs", t0)
    use_cfg = float(cfg) != 1.0
    t0 = timer.now()
    cond = build_cond(backend, design, ref_lats, use_cfg)
    timer.add("refPassMs", t0)

    ts = ddim_timesteps(steps, schedule)
    a_tab, ap_tab = ddim_tables(ts)
    x = torch.from_numpy(np.ascontiguousarray(x_t, dtype=np.float32)).clone()
    zl = torch.from_numpy(z_lq)
    b = 2 if use_cfg else 1
    for index in reversed(range(len(ts))):
        t1 = timer.now()
        xin = torch.cat([x, zl], dim=1)
        if use_cfg:
            xin = torch.cat([xin, xin], dim=0)
        tt = np.full((b,), ts[index], dtype=np.int64)
        e = torch.from_numpy(backend.eps(design, xin.numpy(), tt, cond))
        if use_cfg:
            e_u, e_c = e.chunk(2)
            e = e_u + float(cfg) * (e_c - e_u)
        a_t = torch.tensor(a_tab[index], dtype=torch.float32)
        a_prev = torch.tensor(ap_tab[index], dtype=torch.float32)
        sqrt_1m_at = torch.tensor(np.sqrt(np.float32(1.0) - a_tab[index]), dtype=torch.float32)
        pred_x0 = (x - sqrt_1m_at * e) / a_t.sqrt()
        x = a_prev.sqrt() * pred_x0 + (1.0 - a_prev).sqrt() * e
        timer.steps.append((timer.now() - t1) * 1000.0)
    t0 = timer.now()
    latent = x.numpy().copy()
    decoded = backend.decode(latent)
    img = to_uint8_image(decoded)
    timer.add("decodeMs", t0)
    return SampleResult(latent, img, decoded, z_lq, ref_lats, len(refs), n_zero, ts.tolist(),
                        {**timer.stages, "stepsMs": list(timer.steps)})
