"""python -m refbench_model.bench: GPU (or CPU) benchmark of the PyTorch ReF-LDM engine, the paper's fusion-design
cost tables (Table 2: four designs at 5 references; Table 6: time vs references) for two variants, plus an
ablation of each speed switch against the official arithmetic and batching, the bf16/fp16 drift and the issue's
targets. Needs only torch + numpy and this
``python/`` folder (no Node, no network, no checkpoint: seeded random-init weights of the exact architecture;
weights do not change the cost).

  PYTHONPATH=python python -m refbench_model.bench --out bench.json            # paper, 100 steps, cuda if present
  PYTHONPATH=python python -m refbench_model.bench --config tiny --device cpu --steps 2 --refs 1,2 \
      --designs cachekv,spatial --size 128 --warmup-steps 0 --out tiny.json      # the CPU test's form

Variants: ``eager`` = the official arithmetic and batching (engine.EAGER: CFG as one B = 2 batch [uncond, cond],
official attention arithmetic, K/V concatenated per layer and step, one reference pass per reference with B = 2
[zero, real], fp32, no compile, no graphs; bit-equal to the reference sampler, python/tests/test_refldm_engine.py),
so a speed-up over it is ours, not batching the official code already does; ``fastest`` = engine.FASTEST (or
``--fastest '{"dtype": "fp16", ...}'``). Each measurement: the models of ONE design on the device,
one warm-up image with ``--warmup-steps`` steps (builds the fixed-shape plans, CUDA graphs, cuDNN choices), then
``--repeat`` timed images; time = median wall clock per image (CUDA synchronised), memory = the last timed image's
peak (CUDA: ``torch.cuda.max_memory_allocated``, weights included; CPU: peak RSS since a VmHWM reset, minus the RSS
before the image, or n/a off Linux).

Measurement order puts what the targets need first (CacheKV and spatial at the ablation count, both variants;
then the ablation; then the drift; then the rest of the matrix), and ``--time-budget-s`` skips whatever would start
after the budget is spent (recorded as skipped). The JSON is validated by ``refbench report`` (zod,
src/lib/server/timing/torch-bench.ts; format in docs/refldm-runner.md), which prints Tables 2 and 6 from it.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import pathlib
import platform
import sys
import time

_PY = pathlib.Path(__file__).resolve().parents[1]
if str(_PY) not in sys.path:
    sys.path.insert(0, str(_PY))

SCHEMA_VERSION = 1
KIND = "refldm-torch-bench"
# The paper's Table 2 (5 references, one GTX 1080; units likely s and GB) and Table 6 (CacheKV time vs refs).
# Same numbers as src/lib/server/timing/paper-fusion.ts (a test checks they agree).
PAPER_TABLE2 = {"channel": {"time": 4.17, "memory": 1.77}, "cross": {"time": 14.54, "memory": 2.8},
                "spatial": {"time": 58.36, "memory": 7.44}, "cachekv": {"time": 12.15, "memory": 2.87}}
PAPER_TABLE6 = [{"refs": 1, "time1080": 4.86, "time3090": 3.0}, {"refs": 3, "time1080": 7.09, "time3090": 3.54},
                {"refs": 5, "time1080": 12.03, "time3090": 4.51}, {"refs": 8, "time1080": None, "time3090": 6.26}]
TARGET_SPEEDUP = 3.0  # fastest vs eager (official arithmetic and batching, fp32), CacheKV, 5 refs, real-size weights
TARGET_LATENCY_S = 0.25  # fastest, CacheKV, 5 references, on an H100 / H200
TARGET_RATIO_TOL = 0.25  # CacheKV / spatial time and memory within ±25 % of the paper's ratios
FAST_GPUS = ("H100", "H200")


def _ints(s: str) -> list[int]:
    out = [int(x) for x in s.split(",") if x.strip()]
    if not out or any(x < 1 for x in out):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {s!r}")
    return out


def _median(a: list[float]) -> float:
    s = sorted(a)
    return s[len(s) // 2]


def _ratio_target(tid: str, desc: str, value, paper: float, applies: bool, why_not: str) -> dict:
    lo, hi = paper * (1 - TARGET_RATIO_TOL), paper * (1 + TARGET_RATIO_TOL)
    t = {"id": tid, "description": desc, "value": value, "target": f"{lo:.3f}..{hi:.3f} (paper {paper:.3f} ±25 %)"}
    if value is None:
        return {**t, "met": None, "note": "not measured (error or skipped)"}
    if not applies:
        return {**t, "met": None, "note": why_not}
    return {**t, "met": lo <= value <= hi,
            "note": "" if lo <= value <= hi else f"off by {100 * (value / paper - 1):+.0f} % of the paper's ratio"}


class Bench:
    def __init__(self, args):
        import torch
        from .build import build_random
        from .engine import EAGER, FASTEST, Switches, resolve_switches

        self.args, self.torch = args, torch
        self.t_start = time.perf_counter()
        self.device = args.device
        self.rows: list[dict] = []
        self.ablation: list[dict] = []
        self.drift: list[dict] = []
        self.checks: list[dict] = []
        self.skipped = 0
        fastest = FASTEST if args.fastest is None else Switches.from_json({**FASTEST.to_json(), **json.loads(args.fastest)})
        cpu_fp32 = args.fastest is None and not self.device.startswith("cuda")
        if cpu_fp32:
            fastest = dataclasses.replace(fastest, dtype="fp32")
        self.variants = {"eager": EAGER, "fastest": fastest}
        self.ignored = {k: resolve_switches(v, self.device)[1] for k, v in self.variants.items()}
        if cpu_fp32:
            # NOTE: a policy of this bench, recorded: CPUs without native bf16 run bf16 autocast far slower than fp32.
            self.ignored["fastest"]["dtype"] = ("bf16 autocast is slower than fp32 on CPUs without native bf16: the CPU "
                                                "fastest runs fp32 (measure bf16 with --fastest '{\"dtype\": \"bf16\"}')")
        t0 = time.perf_counter()
        self.vae, self.unets = build_random(args.config, args.seed, tuple(args.designs))
        self.build_s = time.perf_counter() - t0
        self.vae.to(self.device)
        from refbench_golden.refldm import synthetic_image  # numpy only: the golden generators' inputs

        s = args.size
        self.lq = synthetic_image(0, s)
        self.pool = [synthetic_image(i, s) for i in range(1, 9)]
        g = torch.Generator().manual_seed(2024)
        self.x_t = torch.randn(1, 8, s // 8, s // 8, generator=g).numpy()

    # -- helpers -----------------------------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        if not self.args.quiet:
            print(f"[bench {time.perf_counter() - self.t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def over_budget(self) -> bool:
        return self.args.time_budget_s > 0 and time.perf_counter() - self.t_start > self.args.time_budget_s

    def settings(self, design: str, steps: int | None = None):
        from .engine import SampleSettings
        a = self.args
        return SampleSettings(steps=steps or a.steps, schedule=a.schedule, cfg=a.cfg, design=design)

    def engine(self, design: str, switches):
        from .engine import Engine
        for d, u in self.unets.items():  # only the measured design's U-Net on the device
            u.to(self.device if d == design else "cpu")
        self._free()
        return Engine(self.vae, {design: self.unets[design]}, self.device, switches)

    def _free(self) -> None:
        gc.collect()
        if self.device.startswith("cuda"):
            self.torch.cuda.empty_cache()

    def measure(self, eng, design: str, refs: int) -> dict:
        """One cell: warm-up (same shapes, few steps), then ``repeat`` timed images."""
        from .engine import current_memory_bytes
        a = self.args
        use = [self.pool[i % len(self.pool)] for i in range(refs)]
        eng.clear_plans()
        self._free()
        if a.warmup_steps:
            eng.restore(self.lq, use, self.x_t, self.settings(design, a.warmup_steps), step_timings=False)
        times, res, base = [], None, None
        for _ in range(a.repeat):
            base = current_memory_bytes(self.device)
            res = eng.restore(self.lq, use, self.x_t, self.settings(design), step_timings=False)
            times.append(res.timings_ms["totalMs"])
        t = res.timings_ms
        peak = res.info.get("devicePeakBytes")
        row = {"timeMs": _median(times), "timesMs": times,
               "breakdownMs": {"preprocess": t.get("preprocessMs", 0.0), "encode": t.get("encodeMs", 0.0),
                               "refPass": t.get("refPassMs", 0.0), "steps": t.get("stepsTotalMs", 0.0),
                               "decode": t.get("decodeMs", 0.0)},
               "stepsRun": res.info["stepsRun"], "memoryMethod": res.info["deviceMemoryMethod"],
               "peakBytes": peak, "peakReservedBytes": res.info.get("devicePeakReservedBytes"), "baselineBytes": base,
               "deltaBytes": (peak - base) if peak is not None and base is not None else None,
               "info": {k: v for k, v in res.info.items()
                        if k not in ("devicePeakBytes", "devicePeakReservedBytes", "deviceMemoryMethod", "ignored")}}
        eng.clear_plans()
        return row

    def cell(self, variant: str, design: str, refs: int) -> dict | None:
        if any(r["variant"] == variant and r["design"] == design and r["refs"] == refs for r in self.rows):
            return None
        base = {"variant": variant, "design": design, "refs": refs}
        if self.over_budget():
            self.skipped += 1
            row = {**base, "skipped": f"time budget of {self.args.time_budget_s} s spent"}
        else:
            self.log(f"{variant:8s} {design:8s} {refs} refs")
            try:
                row = {**base, **self.measure(self.engine(design, self.variants[variant]), design, refs)}
                self.log(f"  -> {row['timeMs'] / 1000:.3f} s/image, peak {_mib(row['peakBytes'])}")
            except Exception as exc:  # noqa: BLE001 - recorded (e.g. out of memory at 8 refs), the bench goes on
                row = {**base, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
                self.log(f"  -> error {row['error']}")
                self._free()
        self.rows.append(row)
        self.save()
        return row

    # -- phases -------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        a = self.args
        at = a.ablation_refs if a.ablation_refs in a.refs else max(a.refs)
        self.at, self.profile = at, None
        cachekv = "cachekv" in a.designs
        # 0. the fast paths compute the same thing as eager on this device (tiny model, cheap)
        if a.check:
            self.run_check(min(3, at))
        # 1. what the targets need
        for design in ("cachekv", "spatial"):
            if design in a.designs and a.matrix:
                for v in a.variants:
                    self.cell(v, design, at)
        # 2. each switch on its own (torch.compile last: its compile time is the most expendable)
        if a.ablation and cachekv:
            self.run_ablation(at, compile_items=False)
        # 3. a profile of the fastest variant, 4. dtype drift
        if a.profile and cachekv:
            try:
                self.profile = self.run_profile(at)
            except Exception as exc:  # noqa: BLE001 - e.g. no CUPTI: the bench goes on without a profile
                self.profile = {"skipped": f"profiler failed: {type(exc).__name__}: {exc}"}
                self._free()
            self.save()
        if a.drift and cachekv:
            self.run_drift(at)
        # 5. the rest of the matrix
        for design in a.designs if a.matrix else []:
            for v in a.variants:
                for n in a.refs:
                    self.cell(v, design, n)
        if a.ablation and cachekv:
            self.run_ablation(at, compile_items=True)
        return self.save(complete=True)

    def save(self, complete: bool = False) -> dict:
        """Writes the report so far (atomically): a run cut short by a timeout still leaves its measurements.
        Non-finite numbers become null (JSON has no NaN; the schema then names the field)."""
        r = _finite(self.report(self.at, self.profile, complete))
        out = self.args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(r, indent=1, allow_nan=False) + "\n")
        tmp.replace(out)
        return r

    def run_ablation(self, at: int, compile_items: bool) -> None:
        from .engine import EAGER
        eager = next((r for r in self.rows if r["variant"] == "eager" and r["design"] == "cachekv" and r["refs"] == at), None)
        # eager already batches CFG as the official sampler does; "eager-cfgBatch" turns that off (one main pass per
        # branch) to show what the official batching is worth, not as a speed switch of ours
        items = [("eager+sdpa", {"attention": "sdpa"}),
                 ("eager+kvBuffers", {"kv_cache": "buffers"}), ("eager+refBatched", {"ref_pass": "batched"}),
                 ("eager+bf16", {"dtype": "bf16"}), ("eager+fp16", {"dtype": "fp16"}),
                 ("eager+cudnnBenchmark", {"cudnn_benchmark": True}), ("eager+cudaGraphs", {"cuda_graphs": True}),
                 ("eager-cfgBatch", {"cfg_batch": False}), ("eager+compile", {"compile": True}),
                 ("fastest+compile", {**{k.name: getattr(self.variants["fastest"], k.name)
                                         for k in dataclasses.fields(self.variants["fastest"])}, "compile": True})]
        cuda_only = {"cudnn_benchmark", "cuda_graphs", "compile"}
        for name, change in items:
            if ("compile" in change and change["compile"]) != compile_items:
                continue
            sw = dataclasses.replace(EAGER, **change)
            row = {"variant": name, "design": "cachekv", "refs": at, "switches": sw.to_json()}
            if not self.device.startswith("cuda") and cuda_only & {k for k, v in change.items() if v is True}:
                row["skipped"] = "cuda only"
            elif self.over_budget():
                self.skipped += 1
                row["skipped"] = f"time budget of {self.args.time_budget_s} s spent"
            else:
                self.log(f"ablation {name}")
                try:
                    row.update(self.measure(self.engine("cachekv", sw), "cachekv", at))
                    if eager and eager.get("timeMs"):
                        row["speedupVsEager"] = eager["timeMs"] / row["timeMs"]
                    self.log(f"  -> {row['timeMs'] / 1000:.3f} s/image")
                except Exception as exc:  # noqa: BLE001
                    row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    self._free()
            self.ablation.append(row)
            self.save()

    def run_check(self, refs: int) -> None:
        """Correctness of the fast paths on this device: the tiny model (seed 0) restored by eager and by the fastest
        switches at fp32 (with and without torch.compile): final latents and trunc-quantised images compared."""
        import numpy as np
        from .build import build_random
        from .engine import EAGER, Engine, SampleSettings
        from .sampler import to_uint8_image
        steps = min(10, self.args.steps)
        settings = SampleSettings(steps=steps, schedule=self.args.schedule, cfg=self.args.cfg, design="cachekv")
        vae, unets = build_random("tiny", 0, ("cachekv",), self.device)
        use = [self.pool[i % len(self.pool)] for i in range(refs)]
        base = dataclasses.replace(self.variants["fastest"], dtype="fp32")
        outs, rows = {}, {}
        variants = (("eager", EAGER), ("fastest-fp32", base), ("fastest-fp32+compile", dataclasses.replace(base, compile=True)))
        for name, sw in variants:
            if name.endswith("compile") and not self.device.startswith("cuda"):
                rows[name] = {"variant": name, "skipped": "cuda only"}
                continue
            self.log(f"check {name} (tiny, {refs} refs, {steps} steps)")
            try:
                r = Engine(vae, unets, self.device, sw).restore(self.lq, use, self.x_t, settings, step_timings=False)
                if _nonfinite(r.latent, r.decoded):
                    raise FloatingPointError("non-finite values (NaN/Inf) in the latent or the decoder output")
                outs[name] = (r.latent, to_uint8_image(r.decoded))
            except Exception as exc:  # noqa: BLE001 - recorded
                rows[name] = {"variant": name, "error": f"{type(exc).__name__}: {exc}"}
        if "eager" in outs:
            lat0, img0 = outs.pop("eager")
            for name, (lat, img) in outs.items():
                d = np.abs(img.astype(np.int32) - img0.astype(np.int32))
                rows[name] = {"variant": name, "vs": "eager", "design": "cachekv", "refs": refs, "steps": steps,
                              "maxLatentDelta": float(np.abs(lat - lat0).max()), "imageMaxLevelDiff": int(d.max()),
                              "imageFracOffMore": float(np.mean(d > 1)),
                              "ok": bool(np.mean(d > 1) <= 1e-3 and np.abs(lat - lat0).max() <= 1e-3)}
        self.checks += [rows[n] for n, _ in variants if n in rows]
        del vae, unets
        self._free()
        self.save()

    def run_drift(self, at: int) -> None:
        """bf16 / fp16 against fp32 with the fastest variant's other switches: final latent and image."""
        import numpy as np
        from .sampler import to_uint8_image
        use = [self.pool[i % len(self.pool)] for i in range(at)]
        outs = {}
        for dt in ("fp32", "bf16", "fp16"):
            if self.over_budget():
                self.skipped += 1
                self.drift.append({"dtype": dt, "skipped": f"time budget of {self.args.time_budget_s} s spent"})
                continue
            sw = dataclasses.replace(self.variants["fastest"], dtype=dt)
            self.log(f"drift {dt}")
            try:
                eng = self.engine("cachekv", sw)
                r = eng.restore(self.lq, use, self.x_t, self.settings("cachekv"), step_timings=False)
                eng.clear_plans()
                if _nonfinite(r.latent, r.decoded):  # e.g. fp16 overflow
                    raise FloatingPointError("non-finite values (NaN/Inf) in the latent or the decoder output")
                outs[dt] = (r.latent, to_uint8_image(r.decoded))
            except Exception as exc:  # noqa: BLE001 - e.g. fp16 unsupported by this torch on this device
                self.drift.append({"dtype": dt, "error": f"{type(exc).__name__}: {exc}"})
                self._free()
        if "fp32" not in outs:
            return
        lat0, img0 = outs["fp32"]
        for dt in ("bf16", "fp16"):
            if dt not in outs:
                continue
            lat, img = outs[dt]
            d = np.abs(img.astype(np.int32) - img0.astype(np.int32))
            mse = float(np.mean(d.astype(np.float64) ** 2))
            self.drift.append({"dtype": dt, "vs": "fp32", "design": "cachekv", "refs": at, "steps": self.args.steps,
                               "maxLatentDelta": float(np.abs(lat - lat0).max()),
                               "meanLatentDelta": float(np.abs(lat - lat0).mean()),
                               "imageMaxLevelDiff": int(d.max()), "imageMeanLevelDiff": float(d.mean()),
                               "imageFracOff1": float(np.mean(d == 1)), "imageFracOffMore": float(np.mean(d > 1)),
                               "psnrDb": None if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)})
        self.save()

    def run_profile(self, at: int) -> dict | None:
        """torch.profiler over one image of the fastest variant (top operators by self time)."""
        if self.over_budget():
            return {"skipped": f"time budget of {self.args.time_budget_s} s spent"}
        from torch.profiler import ProfilerActivity, profile
        cuda = self.device.startswith("cuda")
        eng = self.engine("cachekv", self.variants["fastest"])
        use = [self.pool[i % len(self.pool)] for i in range(at)]
        eng.restore(self.lq, use, self.x_t, self.settings("cachekv", self.args.warmup_steps or 1), step_timings=False)
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=acts) as prof:
            eng.restore(self.lq, use, self.x_t, self.settings("cachekv"), step_timings=False)
        keys = ("self_device_time_total", "self_cuda_time_total") if cuda else ("self_cpu_time_total",)
        table, key = None, keys[0]
        for key in keys:  # torch >= 2.4 names the device column "device", older ones "cuda"
            try:
                table = prof.key_averages().table(sort_by=key, row_limit=25)
                break
            except Exception:  # noqa: BLE001
                continue
        if table is None:
            table = prof.key_averages().table(row_limit=25)
            key = "default order"
        eng.clear_plans()
        return {"variant": "fastest", "design": "cachekv", "refs": at, "sortBy": key, "table": table.splitlines()}

    # -- output -------------------------------------------------------------------------------------------------
    def report(self, at: int, profile, complete: bool = False) -> dict:
        import torch
        a = self.args
        from .schedule import ddim_timesteps

        def row(v, d, n):
            return next((r for r in self.rows if r["variant"] == v and r["design"] == d and r["refs"] == n), {})

        def mem(r):
            return r.get("peakBytes") if self.device.startswith("cuda") else r.get("deltaBytes")

        paper = a.config == "paper"
        dev_name = self.device_name()
        targets = []
        e, f = row("eager", "cachekv", at), row("fastest", "cachekv", at)
        sp = e.get("timeMs") / f["timeMs"] if e.get("timeMs") and f.get("timeMs") else None
        targets.append({"id": "speedup", "description": f"fastest vs eager fp32 (official arithmetic and batching), "
                                                        f"CacheKV, {at} refs (time ratio)",
                        "value": sp, "target": f">= {TARGET_SPEEDUP}x",
                        "met": None if sp is None or not paper else sp >= TARGET_SPEEDUP,
                        "note": "" if paper and sp is not None else ("not measured" if sp is None else
                                                                       "applies to the paper config (real-size weights)")})
        lat = f["timeMs"] / 1000 if f.get("timeMs") else None
        fast_gpu = any(g in dev_name for g in FAST_GPUS)
        targets.append({"id": "latency", "description": f"fastest, CacheKV, {at} refs, s/image on an H100/H200",
                        "value": lat, "target": f"<= {TARGET_LATENCY_S} s (paper: 4.51 s on an RTX 3090)",
                        "met": lat <= TARGET_LATENCY_S if lat is not None and paper and fast_gpu and a.steps == 100 else None,
                        "note": "" if paper and fast_gpu and a.steps == 100 else
                        f"applies to the paper config, 100 steps, on an H100/H200 (this: {a.config}, {a.steps} steps, {dev_name})"})
        why = "applies to the paper config"
        for v in a.variants:
            c, s = row(v, "cachekv", at), row(v, "spatial", at)
            tr = c["timeMs"] / s["timeMs"] if c.get("timeMs") and s.get("timeMs") else None
            mr = mem(c) / mem(s) if mem(c) and mem(s) else None
            p = PAPER_TABLE2
            targets.append(_ratio_target(f"timeRatio.{v}", f"CacheKV / spatial-concatenation time, {at} refs, {v}",
                                         tr, p["cachekv"]["time"] / p["spatial"]["time"], paper, why))
            targets.append(_ratio_target(f"memoryRatio.{v}", f"CacheKV / spatial-concatenation memory, {at} refs, {v}",
                                         mr, p["cachekv"]["memory"] / p["spatial"]["memory"], paper, why))
        return {
            "kind": KIND, "schemaVersion": SCHEMA_VERSION, "complete": complete,
            "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "label": "untrained random-init weights (timing only)", "command": sys.argv,
            "config": a.config, "seed": a.seed, "imageSize": a.size, "steps": a.steps,
            "stepsRun": len(ddim_timesteps(a.steps, a.schedule)), "schedule": a.schedule, "cfg": a.cfg,
            "repeat": a.repeat, "warmupSteps": a.warmup_steps, "refs": a.refs, "designs": a.designs,
            "ablationRefs": at, "device": self.device, "deviceName": dev_name,
            "memory": ("peak torch.cuda.max_memory_allocated per image, weights included (peakReservedBytes: "
                       "max_memory_reserved, which also holds CUDA graph pools)" if self.device.startswith("cuda")
                       else "peak RSS during the image minus the RSS before it (CPU; VmHWM reset per image)"),
            "host": {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
                     "platform": platform.platform(), "cpus": os.cpu_count(), "threads": torch.get_num_threads()},
            "tf32": {"matmul": bool(torch.backends.cuda.matmul.allow_tf32), "cudnn": bool(torch.backends.cudnn.allow_tf32)},
            "variants": {k: v.to_json() for k, v in self.variants.items() if k in a.variants},
            "ignored": {k: v for k, v in self.ignored.items() if k in a.variants and v},
            "buildS": self.build_s, "rows": self.rows, "ablation": self.ablation, "drift": self.drift,
            "checks": self.checks,
            **({"profile": profile} if profile else {}), "targets": targets,
            "budget": {"timeBudgetS": a.time_budget_s, "elapsedS": time.perf_counter() - self.t_start,
                       "skipped": self.skipped},
            "paper": {"table2": PAPER_TABLE2, "table6": PAPER_TABLE6},
        }

    def device_name(self) -> str:
        if self.device.startswith("cuda"):
            return self.torch.cuda.get_device_name()
        name = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return name


def _finite(v):
    """Replaces NaN / ±Inf floats (recursively) by None."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def _nonfinite(*arrays) -> bool:
    import numpy as np
    return any(not np.isfinite(a).all() for a in arrays)


def _mib(v) -> str:
    return "n/a" if v is None else f"{v / 2**20:.0f} MiB"


def print_summary(r: dict, out=sys.stdout) -> None:
    """The targets and the headline numbers, for a machine without Node (refbench report prints the tables)."""
    print(f"ReF-LDM torch bench: {r['config']}, {r['steps']} steps, CFG {r['cfg']}, {r['device']} ({r['deviceName']}), "
          f"torch {r['host']['torch']}; {r['label']}", file=out)
    for v in r["variants"]:
        cells = [x for x in r["rows"] if x["variant"] == v]
        line = ", ".join(f"{x['design']}@{x['refs']}: " + (f"{x['timeMs'] / 1000:.3f}s" if "timeMs" in x else
                                                           ("error" if "error" in x else "skipped")) for x in cells)
        print(f"  {v}: {line}", file=out)
    for x in r["ablation"]:
        if "timeMs" in x:
            print(f"  ablation {x['variant']}: {x['timeMs'] / 1000:.3f}s"
                  + (f" ({x['speedupVsEager']:.2f}x eager)" if x.get("speedupVsEager") else ""), file=out)
    for c in r["checks"]:
        if "maxLatentDelta" in c:
            print(f"  check {c['variant']} vs eager: max latent delta {c['maxLatentDelta']:.3g}, image max level diff "
                  f"{c['imageMaxLevelDiff']}: {'ok' if c['ok'] else 'NOT EQUAL'}", file=out)
        elif "error" in c:
            print(f"  check {c['variant']}: error {c['error']}", file=out)
    for d in r["drift"]:
        if "maxLatentDelta" in d:
            print(f"  drift {d['dtype']} vs fp32: max latent delta {d['maxLatentDelta']:.3g}, image max level diff "
                  f"{d['imageMaxLevelDiff']}, {100 * d['imageFracOffMore']:.3f} % off by >1, PSNR "
                  + ("inf" if d["psnrDb"] is None else f"{d['psnrDb']:.1f} dB"), file=out)
    print("Targets:", file=out)
    for t in r["targets"]:
        met = {True: "MET", False: "MISSED", None: "n/a"}[t["met"]]
        val = "—" if t["value"] is None else f"{t['value']:.3f}"
        print(f"  [{met}] {t['description']}: {val} (target {t['target']}){'; ' + t['note'] if t['note'] else ''}",
              file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m refbench_model.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, required=True, help="JSON file to write")
    ap.add_argument("--config", choices=["paper", "tiny"], default="paper")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None, help="cuda | cpu (default: cuda when available)")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--schedule", choices=["uniform", "uniform_trailing"], default="uniform")
    ap.add_argument("--cfg", type=float, default=1.5)
    ap.add_argument("--refs", type=_ints, default=[1, 3, 5, 8])
    ap.add_argument("--designs", default="cachekv,spatial,cross,channel")
    ap.add_argument("--variants", default="eager,fastest")
    ap.add_argument("--fastest", help="JSON object of switches overriding engine.FASTEST, e.g. '{\"dtype\": \"fp16\"}'")
    ap.add_argument("--ablation", action="store_true",
                    help="time each switch alone on top of eager (CacheKV), and eager with CFG unbatched")
    ap.add_argument("--ablation-refs", type=int, default=5, help="reference count of Table 2, ablation and targets")
    ap.add_argument("--drift", action="store_true", help="bf16 / fp16 vs fp32 outputs (fastest switches)")
    ap.add_argument("--profile", action="store_true", help="torch.profiler table of one fastest CacheKV image")
    ap.add_argument("--check", action="store_true",
                    help="first compare the fast fp32 paths with eager on this device (tiny model, <= 10 steps)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--warmup-steps", type=int, default=2, help="DDIM steps of the warm-up image (0: none)")
    ap.add_argument("--size", type=int, default=512, help="image side (a multiple of 64; 512 = the model's)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--time-budget-s", type=float, default=0, help="skip measurements that would start later (0: none)")
    ap.add_argument("--no-matrix", dest="matrix", action="store_false",
                    help="skip the designs x references matrix (only --ablation / --drift / --profile)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)

    import torch
    from .configs import DESIGNS
    from .schedule import ddim_timesteps
    args.designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [d for d in args.designs if d not in DESIGNS]
    if bad:
        ap.error(f"--designs: unknown {', '.join(bad)} (known: {', '.join(DESIGNS)})")
    if not args.variants or any(v not in ("eager", "fastest") for v in args.variants):
        ap.error("--variants: eager and/or fastest")
    if args.size % 64:
        ap.error(f"--size {args.size}: must be a multiple of 64")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    try:
        ddim_timesteps(args.steps, args.schedule)
        if args.warmup_steps:
            ddim_timesteps(args.warmup_steps, args.schedule)
    except ValueError as exc:
        ap.error(str(exc))
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: CUDA is not available (torch {torch.__version__}, cuda {torch.version.cuda})")
    if args.threads:
        torch.set_num_threads(args.threads)
    bench = Bench(args)
    with torch.inference_mode():
        report = bench.run()
    print_summary(report)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
