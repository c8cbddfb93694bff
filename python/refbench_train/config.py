"""Training configs: JSON or YAML (yamlmini subset), validated against the schema below.

Every error names the file and the dotted field (``train.batch_size``). Relative paths are resolved against the
config file's folder. Missing fields take the defaults below; unknown fields are errors (a typo must not silently
fall back to a default).
"""
from __future__ import annotations

import json
import math
import pathlib
from dataclasses import dataclass

from refbench_model.configs import CONFIGS, DESIGNS

from . import yamlmini

STAGES = ("vqgan", "ldm", "refldm", "arcface")


class ConfigError(ValueError):
    """A config problem; the message names the file and the field."""


_REQ = object()  # marker: required, no default


@dataclass(frozen=True)
class F:
    """One field: type(s), default, optional check (returns an error string or None)."""

    types: tuple
    default: object = _REQ
    check: object = None
    path: bool = False  # a filesystem path: resolved against the config folder


def _pos(v):
    return None if v > 0 else "must be > 0"


def _nonneg(v):
    return None if v >= 0 else "must be >= 0"


def _prob(v):
    return None if 0 <= v <= 1 else "must be in [0, 1]"


def _one_of(*choices):
    return lambda v: None if v in choices else f"must be one of {', '.join(map(str, choices))}"


INT, NUM, STR, BOOL, LIST = (int,), (int, float), (str,), (bool,), (list,)
OPT_STR = (str, type(None))

COMMON = {
    "stage": F(STR, None, _one_of(*STAGES)),
    "model": F(STR, "tiny", _one_of(*CONFIGS)),
    "device": F(STR, "cpu", _one_of("cpu", "cuda")),
    "bf16": F(BOOL, False),
    "seed": F(INT, 0, _nonneg),
    "out": F(STR, _REQ, path=True),
    "threads": F((int, type(None)), None),
    "train": {
        "steps": F(INT, _REQ, _pos),
        "batch_size": F(INT, 4, _pos),
        "lr": F(NUM, 5e-5, _pos),
        "weight_decay": F(NUM, 0.01, _nonneg),
        "warmup_steps": F(INT, 0, _nonneg),
        "ema_decay": F(NUM, 0.9999, _prob),
        "checkpoint_every": F(INT, 1000, _pos),
        "progress_every": F(INT, 10, _pos),
        "plot_every": F(INT, 100, _pos),
        "attention": F(STR, "sdpa", _one_of("sdpa", "math")),
    },
}

DATA = {
    "root": F(STR, _REQ, path=True),
    "csv": F(STR, "reference_mapping/train_references.csv"),
    "hq_dir": F(STR, "images512x512"),
    "lq_dirs": F(LIST, []),
    "resolution": F((int, type(None)), None),
    "cache_latents": F(BOOL, True),
    "ref_aug_variants": F(INT, 1, _pos),
    "lr_flip": F(BOOL, True),
    "limit": F((int, type(None)), None),
}

AUTOENCODER = {"checkpoint": F(OPT_STR, None, path=True), "random_init": F((int, type(None)), None)}

DIFFUSION = {
    "loss_type": F(STR, "l2", _one_of("l2", "l1")),
    "uncond_prob_lq": F(NUM, 0.1, _prob),
    "uncond_prob_refs": F(NUM, 0.1, _prob),
    "num_refs": F(INT, 5, _pos),
    "shuffle_refs": F(BOOL, True),
    "dup_refs": F(BOOL, True),
    "ref_aug": F(BOOL, True),
    "design": F(STR, "cachekv", _one_of(*DESIGNS)),
    "init_from": F(OPT_STR, None, path=True),
    "init_use_ema": F(BOOL, False),
}

ID_LOSS = {
    "weight": F(NUM, 0.1, _nonneg),
    "weight_by_t": F(BOOL, True),
    "t_max": F((int, type(None)), None),
    "every": F(INT, 1, _pos),
    "from_step": F(INT, 0, _nonneg),
    "network": F(OPT_STR, None, path=True),
    "layers": F(LIST, [3, 4, 14, 3]),
    "width": F(INT, 64, _pos),
    "embedding": F(INT, 512, _pos),
}

VQGAN = {
    "l1_weight": F(NUM, 1.0, _nonneg),
    "perceptual_weight": F(NUM, 0.0, _nonneg),
    "lpips_lin": F(OPT_STR, None, path=True),
    "lpips_trunk": F(OPT_STR, None, path=True),
    "codebook_weight": F(NUM, 1.0, _nonneg),
    "beta": F(NUM, 0.25, _nonneg),
    "disc_weight": F(NUM, 0.8, _nonneg),
    "disc_start": F((int, type(None)), None),
    "crop": F((int, type(None)), None),
}

ARCFACE = {
    "layers": F(LIST, [3, 4, 14, 3]),
    "width": F(INT, 64, _pos),
    "embedding": F(INT, 512, _pos),
    "margin": F(NUM, 0.5, _nonneg),
    "scale": F(NUM, 64.0, _pos),
    "degrade_prob": F(NUM, 0.0, _prob),
}

SCHEMAS = {
    "vqgan": {**COMMON, "data": DATA, "vqgan": VQGAN},
    "ldm": {**COMMON, "data": DATA, "autoencoder": AUTOENCODER, "diffusion": DIFFUSION},
    "refldm": {**COMMON, "data": DATA, "autoencoder": AUTOENCODER, "diffusion": DIFFUSION, "id_loss": ID_LOSS},
    "arcface": {**COMMON, "data": DATA, "arcface": ARCFACE},
}


class Cfg(dict):
    """Attribute access to a validated config section."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError as e:
            raise AttributeError(k) from e


def _validate(raw: dict, schema: dict, where: str, src: str, base: pathlib.Path) -> Cfg:
    if not isinstance(raw, dict):
        raise ConfigError(f"{src}: '{where or '<top>'}' must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise ConfigError(f"{src}: unknown field(s) {', '.join(f'{where}{k}' for k in unknown)}; "
                          f"known in '{where or '<top>'}': {', '.join(sorted(schema))}")
    out = Cfg()
    for k, spec in schema.items():
        name = f"{where}{k}"
        if isinstance(spec, dict):
            out[k] = _validate(raw.get(k) or {}, spec, f"{name}.", src, base)
            continue
        if k not in raw or raw[k] is None and spec.default is not _REQ and spec.default is not None:
            if spec.default is _REQ:
                raise ConfigError(f"{src}: missing required field '{name}'")
            out[k] = list(spec.default) if isinstance(spec.default, list) else spec.default
            continue
        v = raw[k]
        ok = isinstance(v, spec.types) and not (isinstance(v, bool) and bool not in spec.types)
        if not ok:
            want = " or ".join("null" if t is type(None) else t.__name__ for t in spec.types)
            raise ConfigError(f"{src}: field '{name}' must be {want}, got {v!r}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{src}: field '{name}' must be finite, got {v!r}")
        if spec.check is not None and v is not None:
            err = spec.check(v)
            if err:
                raise ConfigError(f"{src}: field '{name}' {err}, got {v!r}")
        if spec.path and isinstance(v, str):
            v = str((base / v).resolve()) if not pathlib.Path(v).is_absolute() else v
        out[k] = v
    return out


def load_config(path, stage: str, overrides: dict | None = None) -> Cfg:
    """Reads and validates ``path`` for ``stage``; ``overrides`` (dotted keys) come from the command line."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text()
    try:
        raw = json.loads(text) if path.suffix == ".json" else yamlmini.loads(text, str(path))
    except (ValueError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot parse: {e}") from e
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
    if raw.get("stage") not in (None, stage):
        raise ConfigError(f"{path}: field 'stage' is {raw['stage']!r} but the command runs stage {stage!r}")
    for key, val in (overrides or {}).items():
        if val is None:
            continue
        d = raw
        parts = key.split(".")
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = val
    cfg = _validate(raw, SCHEMAS[stage], "", str(path), path.parent.resolve())
    cfg["stage"] = stage
    cfg["config_file"] = str(path.resolve())
    if stage in ("ldm", "refldm"):
        ae = cfg.autoencoder
        if (ae.checkpoint is None) == (ae.random_init is None):
            raise ConfigError(f"{path}: set exactly one of 'autoencoder.checkpoint' (a vqgan.ckpt or a checkpoint "
                              "in the official layout) and 'autoencoder.random_init' (a seed: tests only)")
    if stage == "refldm" and cfg.id_loss.weight > 0 and cfg.id_loss.network is None:
        raise ConfigError(f"{path}: 'id_loss.network' is required when 'id_loss.weight' > 0 (an iresnet state dict, "
                          "e.g. the arcface stage's identity.pt); set id_loss.weight: 0 to train without it")
    for key in ("layers",):
        for sec in ("id_loss", "arcface"):
            if sec in cfg:
                v = cfg[sec][key]
                if len(v) != 4 or not all(isinstance(x, int) and x > 0 for x in v):
                    raise ConfigError(f"{path}: field '{sec}.{key}' must be 4 positive integers, got {v!r}")
    if not all(isinstance(x, str) for x in cfg.data.lq_dirs):
        raise ConfigError(f"{path}: field 'data.lq_dirs' must be a list of folder names")
    return cfg
