"""A small FFHQ-Ref-layout training set for the trainer tests (written with PIL, no TypeScript): 4 identities x 3
images of 64x64 px; LQ folders made by a box down/up-sampling (the tests check the trainer, not the degradation)."""
from __future__ import annotations

import json
import pathlib

import numpy as np
from PIL import Image

RES = 64


def make_dataset(root: pathlib.Path, identities: int = 4, per_id: int = 3, lq_variants: int = 2) -> pathlib.Path:
    rng = np.random.default_rng(0)
    hq = root / "images512x512"
    hq.mkdir(parents=True)
    groups = []
    k = 0
    for i in range(identities):
        base = rng.uniform(40, 215, size=3)
        names = []
        for _ in range(per_id):
            yy, xx = np.mgrid[0:RES, 0:RES]
            img = np.empty((RES, RES, 3))
            for c in range(3):
                img[..., c] = base[c] + 30 * np.sin(xx / (4 + i) + c) + 20 * np.cos(yy / (3 + i)) + rng.normal(0, 5)
            name = f"{k:05d}.png"
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(hq / name)
            names.append(name)
            k += 1
        groups.append(names)
    lines = ["gt_image,ref_image"]
    for names in groups:
        for n in names:
            refs = [m for m in names if m != n]
            lines.append(f"{n},\"{refs!r}\"")
    (root / "reference_mapping").mkdir()
    (root / "reference_mapping" / "train_references.csv").write_text("\n".join(lines) + "\n")
    for v in range(lq_variants):
        d = root / f"lq-train-{v}"
        d.mkdir()
        for p in sorted(hq.iterdir()):
            im = Image.open(p)
            f = 4 + 4 * v
            im.resize((RES // f, RES // f), Image.BOX).resize((RES, RES), Image.BILINEAR).save(d / p.name)
    return root


def write_config(path: pathlib.Path, data_root: pathlib.Path, run_dir: pathlib.Path, **over) -> pathlib.Path:
    cfg = {
        "model": "tiny", "seed": 0, "out": str(run_dir), "threads": 1,
        "train": {"steps": 4, "batch_size": 2, "lr": 1e-3, "warmup_steps": 2, "checkpoint_every": 2,
                  "progress_every": 1, "plot_every": 2},
        "data": {"root": str(data_root), "lq_dirs": ["lq-train-0", "lq-train-1"], "resolution": RES},
        "autoencoder": {"random_init": 0},
        "diffusion": {},
        "id_loss": {"weight": 0.0},
    }
    for k, v in over.items():
        d = cfg
        parts = k.split(".")
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        if v is None:
            d.pop(parts[-1], None)
        else:
            d[parts[-1]] = v
    path.write_text(json.dumps(cfg))
    return path
