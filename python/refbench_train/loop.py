"""The training loop shared by every stage: resume from ``<out>/checkpoints/last.ckpt``, per-step JSONL log
(``<out>/log.jsonl``), SVG curves (``<out>/curves.svg``), progress with ETA on stderr, atomic checkpoints.

Resume contract: every random draw of step s comes from ``step_generator(seed, s)`` and the checkpoint holds the
weights, EMA and optimizer state at a step boundary, so kill -9 + the same command continues bit-exactly (CPU).
Log lines after the checkpoint's step are dropped on resume (they are recomputed)."""
from __future__ import annotations

import json
import pathlib
import sys
import time

import torch

from .common import load_ckpt, save_atomic
from .plot import write_plot


def _fmt_s(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def run(stage, cfg, max_steps: int | None = None, err=None) -> dict:
    """Trains ``stage`` (train_step / checkpoint / restore / finish) to ``cfg.train.steps``; ``max_steps`` stops
    early after that many steps of this invocation (tests, measurements). Returns a summary."""
    err = err or sys.stderr
    out = pathlib.Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ck_path = out / "checkpoints" / "last.ckpt"
    log_path = out / "log.jsonl"
    start = 0
    if ck_path.is_file():
        start = stage.restore(load_ckpt(ck_path))
        kept = [line for line in (log_path.read_text().splitlines() if log_path.is_file() else [])
                if line.strip() and json.loads(line)["step"] < start]
        log_path.write_text("".join(x + "\n" for x in kept))
        print(f"resumed from {ck_path} at step {start}", file=err)
    elif log_path.exists():
        log_path.unlink()
    (out / "config.json").write_text(json.dumps(cfg, indent=1, default=str) + "\n")
    total = cfg.train.steps
    end = total if max_steps is None else min(total, start + max_steps)
    t_start = time.perf_counter()
    times = []
    title = f"{cfg.stage}{' ' + stage.design if getattr(stage, 'design', None) else ''} ({cfg.model})"
    with open(log_path, "a") as log:
        for step in range(start, end):
            t0 = time.perf_counter()
            m = stage.train_step(step)
            dt = time.perf_counter() - t0
            times.append(dt)
            rec = {"step": step, **{k: v for k, v in m.items() if v is not None}, "s_per_step": round(dt, 4)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            done = step + 1
            if done % cfg.train.progress_every == 0 or done == end:
                recent = times[-20:]
                sps = sum(recent) / len(recent)
                print(f"[{cfg.stage}] step {done}/{total}  loss {m.get('loss', float('nan')):.4g}  "
                      f"{sps:.2f} s/step  ETA {_fmt_s(sps * (total - done))}", file=err, flush=True)
            if done % cfg.train.checkpoint_every == 0 or done == end:
                save_atomic(stage.checkpoint(done), ck_path)
            if done % cfg.train.plot_every == 0:
                write_plot(log_path, out / "curves.svg", title)
    write_plot(log_path, out / "curves.svg", title)
    files = []
    if end == total:
        files = stage.finish()
    return {"start": start, "end": end, "total": total, "seconds": time.perf_counter() - t_start,
            "s_per_step": (sum(times) / len(times)) if times else None, "files": [str(f) for f in files]}


def set_threads(cfg) -> None:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
