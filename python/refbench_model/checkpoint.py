"""Strict loading of the official ReF-LDM checkpoints (refldm.ckpt, vqgan.ckpt) into the reference models.

Official layouts (ref-ldm @ af6690c):
- ``refldm.ckpt``: bare ``LatentDiffusion`` state dict: ``model.diffusion_model.<name>`` (training weights),
  ``model_ema.diffusion_model<name without dots>`` (EMA, ``LitEma.m_name2s_name``) + ``model_ema.decay`` / ``num_updates``,
  ``first_stage_model.*`` (the VQGAN), ``cond_stage_model.<key>.*`` (``lq_image``, ``ref_image``: the same VQGAN
  again, ``__is_first_stage__``), schedule buffers (``betas``, ``alphas_cumprod`` ...), possibly ``perceptual_loss.*``
  (ArcFace, training only).
- ``vqgan.ckpt``: Lightning dict, weights under ``["state_dict"]``: ``encoder.*``, ``decoder.*``, ``quantize.*``,
  ``quant_conv.*``, ``post_quant_conv.*`` and training-only ``loss.*``.

VQGAN copies: in the official model ``cond_stage_model.lq_image`` and ``cond_stage_model.ref_image`` ARE
``first_stage_model`` (one module registered under three names). ``load_state_dict`` visits a shared module once
per name, in registration order, so each copy in the file overwrites the previous one and the copy loaded LAST,
``cond_stage_model.ref_image.*``, is what the official code runs with (and both of those override the vqgan.ckpt
weights the VQGAN was constructed with). A checkpoint saved from the model holds identical copies; the loader
requires every copy present in the file to be complete and equal to the others (``CheckpointError`` naming the
differing keys otherwise), so which one is used cannot matter.

The U-Net is loaded from the **EMA** weights (sampling runs in ``ema_scope``). Every expected key must be present
with the expected shape, and every key under a consumed prefix must be expected: any difference is an error that
names the keys (the official ``strict=False`` would silently keep random weights). Keys under known training-only
prefixes are ignored, explicitly listed in ``IGNORED_*``; anything else unknown is an error too.
"""
from __future__ import annotations

import hashlib
import pathlib
import warnings

import torch

from .configs import ModelConfig, get_config
from .unet import UNet
from .vae import VQGAN

DIFFUSION_PREFIX = "model.diffusion_model."
EMA_PREFIX = "model_ema."
EMA_EXTRA = ("decay", "num_updates")
FIRST_STAGE_PREFIX = "first_stage_model."
SCHEDULE_BUFFERS = frozenset({
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
    "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
    "scale_factor", "logvar", "lvlb_weights",
})
COND_STAGE_PREFIX = "cond_stage_model."
#: Prefixes of refldm.ckpt that are loaded (every key under them must be expected).
REFLDM_PREFIXES = (DIFFUSION_PREFIX, EMA_PREFIX, FIRST_STAGE_PREFIX, COND_STAGE_PREFIX)
IGNORED_REFLDM_PREFIXES = ("perceptual_loss.",)
IGNORED_VQGAN_PREFIXES = ("loss.",)


class CheckpointError(ValueError):
    """A checkpoint does not match the expected keys/shapes; the message names every offending key."""


def ema_name(name: str) -> str:
    """U-Net name -> EMA buffer name under ``model_ema.``: ``input_blocks.0.0.weight`` ->
    ``diffusion_modelinput_blocks00weight`` (LitEma wraps ``DiffusionWrapper`` and removes the dots)."""
    return ("diffusion_model." + name).replace(".", "")


def expected_shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def paper_key_shapes(config: str | ModelConfig = "paper", design: str = "cachekv") -> tuple[dict, dict]:
    """(unet, vae) name -> shape of a config (and fusion design), computed on the meta device (no memory, fast)."""
    cfg = get_config(config) if isinstance(config, str) else config
    with torch.device("meta"):
        return expected_shapes(UNet(cfg.unet, design)), expected_shapes(VQGAN(cfg.vae))


def _fmt(keys, limit: int = 20) -> str:
    keys = sorted(keys)
    s = ", ".join(keys[:limit])
    return s + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


def _match(source: str, sd: dict, prefix: str, expected: dict, rename=lambda k: k, extra=()) -> dict:
    """Returns {model name: tensor} for the keys ``prefix + rename(name)``; raises on any mismatch."""
    want = {prefix + rename(k): k for k in expected}
    have = {k for k in sd if k.startswith(prefix)}
    allowed_extra = {prefix + e for e in extra}
    missing = [f"{k} (<-> {DIFFUSION_PREFIX}{want[k]})" if rename is ema_name else k for k in want if k not in sd]
    unexpected = [k for k in have if k not in want and k not in allowed_extra]
    bad_shape = [f"{k}: checkpoint {tuple(sd[k].shape)} != model {expected[want[k]]}"
                 for k in want if k in sd and tuple(sd[k].shape) != tuple(expected[want[k]])]
    errs = []
    if missing:
        errs.append(f"missing keys: {_fmt(missing)}")
    if unexpected:
        errs.append(f"unexpected keys: {_fmt(unexpected)}")
    if bad_shape:
        errs.append(f"shape mismatches: {_fmt(bad_shape)}")
    if errs:
        raise CheckpointError(f"{source}: under '{prefix}': " + "; ".join(errs))
    return {want[k]: sd[k] for k in want}


def check_unknown(source: str, sd: dict, consumed_prefixes, ignored_prefixes, ignored_keys=frozenset()) -> None:
    unknown = [k for k in sd if not k.startswith(tuple(consumed_prefixes)) and not k.startswith(tuple(ignored_prefixes))
               and k not in ignored_keys]
    if unknown:
        raise CheckpointError(f"{source}: unexpected keys (not a ReF-LDM checkpoint of this config?): {_fmt(unknown)}")


def unet_from_refldm(sd: dict, unet_shapes: dict, source: str = "refldm.ckpt", use_ema: bool = True) -> dict:
    """U-Net state dict (model names) from a refldm.ckpt state dict; strict on both the raw and the EMA copy."""
    raw = _match(source, sd, DIFFUSION_PREFIX, unet_shapes)
    ema = _match(source, sd, EMA_PREFIX, unet_shapes, rename=ema_name, extra=EMA_EXTRA)
    return ema if use_ema else raw


def vae_copy_prefixes(sd: dict) -> list[str]:
    """Prefixes of the VQGAN copies in a refldm.ckpt state dict, in the official load order: ``first_stage_model.``,
    then every ``cond_stage_model.<key>.`` in file order (the ModuleDict's order: lq_image, ref_image)."""
    out = []
    if any(k.startswith(FIRST_STAGE_PREFIX) and not k.startswith(FIRST_STAGE_PREFIX + "loss.") for k in sd):
        out.append(FIRST_STAGE_PREFIX)
    for k in sd:
        if k.startswith(COND_STAGE_PREFIX):
            p = COND_STAGE_PREFIX + k[len(COND_STAGE_PREFIX):].split(".", 1)[0] + "."
            if p not in out and not k.startswith(p + "loss."):
                out.append(p)
    return out


def vae_from_refldm(sd: dict, vae_shapes: dict, source: str = "refldm.ckpt") -> dict | None:
    """The VQGAN inside refldm.ckpt, or None when the checkpoint holds no copy of it.

    Every copy (``first_stage_model.*``, ``cond_stage_model.<key>.*``) must be complete and equal to the others;
    the last one in load order is returned: it is what the official ``load_state_dict`` leaves in the shared
    module (module doc)."""
    prefixes = vae_copy_prefixes(sd)
    if not prefixes:
        return None
    copies = {}
    for p in prefixes:
        sub = {k: v for k, v in sd.items() if not k.startswith(p + "loss.")}
        copies[p] = _match(source, sub, p, vae_shapes)
    first = prefixes[0]
    for p in prefixes[1:]:
        diff = [k for k in vae_shapes if not torch.equal(copies[p][k], copies[first][k])]
        if diff:
            worst = max(float((copies[p][k].float() - copies[first][k].float()).abs().max()) for k in diff)
            raise CheckpointError(
                f"{source}: the VQGAN copies differ: {len(diff)} tensor(s) of '{p}*' are not equal to '{first}*' "
                f"({_fmt(diff, 5)}; max |diff| {worst:.3g}). In the official model these names share one module and "
                f"load_state_dict keeps the copy loaded last ('{prefixes[-1]}*'); a checkpoint whose copies differ "
                "is not one the official code saved, so refbench refuses to guess")
    return copies[prefixes[-1]]


def vae_from_vqgan(obj: dict, vae_shapes: dict, source: str = "vqgan.ckpt") -> dict:
    sd = obj["state_dict"] if isinstance(obj, dict) and "state_dict" in obj else obj
    check_unknown(source, sd, ("encoder.", "decoder.", "quantize.", "quant_conv.", "post_quant_conv."),
                  IGNORED_VQGAN_PREFIXES)
    return _match(source, {k: v for k, v in sd.items() if not k.startswith(IGNORED_VQGAN_PREFIXES)}, "", vae_shapes)


def _sha256(path: pathlib.Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _torch_load(path: pathlib.Path, allow_pickle: bool):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # Lightning checkpoints may pickle extra objects
        if not allow_pickle:
            raise CheckpointError(f"{path}: cannot be read with weights_only=True ({exc}); pass allow_pickle "
                                  "(--allow-pickle) only for a file you trust") from exc
        return torch.load(path, map_location="cpu", weights_only=False)


def load_official(config: str | ModelConfig, refldm_ckpt, vqgan_ckpt=None, device: str = "cpu",
                  allow_pickle: bool = False, hash_files: bool = True, design: str = "cachekv"):
    """(vae, {'cachekv': unet}, weights-info) from the official files. The VQGAN comes from refldm.ckpt when it holds
    copies (all must be equal; the official ``load_state_dict`` overrides the vqgan.ckpt weights with them), else
    from vqgan.ckpt. Only the cachekv U-Net has released weights; ``design`` loads a checkpoint of another fusion
    design in the same layout (python/refbench_train writes them), returned as ``{design: unet}``. ``info['vaeSource']`` names the copy used.
    ``hash_files=False`` skips the sha256 of the files (the caller hashed them already: the TypeScript engine)."""
    cfg = get_config(config) if isinstance(config, str) else config
    refldm_ckpt = pathlib.Path(refldm_ckpt)
    unet_shapes, vae_shapes = paper_key_shapes(cfg, design)
    sd = _torch_load(refldm_ckpt, allow_pickle)
    if isinstance(sd, dict) and "state_dict" in sd and not any(k.startswith(DIFFUSION_PREFIX) for k in sd):
        sd = sd["state_dict"]  # the authors' internal layout wraps it
    check_unknown(str(refldm_ckpt), sd, REFLDM_PREFIXES, IGNORED_REFLDM_PREFIXES, SCHEDULE_BUFFERS)
    unet_sd = unet_from_refldm(sd, unet_shapes, str(refldm_ckpt))
    vae_sd = vae_from_refldm(sd, vae_shapes, str(refldm_ckpt))
    copies = vae_copy_prefixes(sd)
    info = {"kind": "checkpoint", **({"refldmSha256": _sha256(refldm_ckpt)} if hash_files else {}),
            "vaeSource": f"refldm.ckpt {copies[-1]}* (all {len(copies)} copies equal)" if copies else "vqgan.ckpt"}
    if vqgan_ckpt is not None:
        vq_sd = vae_from_vqgan(_torch_load(pathlib.Path(vqgan_ckpt), allow_pickle), vae_shapes, str(vqgan_ckpt))
        if hash_files:
            info["vqganSha256"] = _sha256(pathlib.Path(vqgan_ckpt))
        if vae_sd is None:
            vae_sd = vq_sd
        elif any(not torch.equal(vae_sd[k], vq_sd[k]) for k in vae_sd):
            warnings.warn(f"{refldm_ckpt}: its VQGAN differs from {vqgan_ckpt}; using refldm.ckpt's "
                          "(the official load order: load_state_dict overrides the weights loaded at construction)")
    if vae_sd is None:
        raise CheckpointError(f"{refldm_ckpt}: holds no VQGAN (first_stage_model.* / cond_stage_model.*); pass the "
                              "vqgan.ckpt too")
    vae, unet = VQGAN(cfg.vae), UNet(cfg.unet, design)
    vae.load_state_dict(vae_sd, strict=True)
    unet.load_state_dict(unet_sd, strict=True)
    return vae.eval().to(device), {design: unet.eval().to(device)}, info


def official_key_tables(config: str | ModelConfig = "paper") -> tuple[dict, dict]:
    """(refldm.ckpt keys, vqgan.ckpt keys) -> shape lists, consumed prefixes only: the committed fixtures
    python/tests/fixtures/{refldm,vqgan}_keys.json are this function's output for the paper config."""
    u, v = paper_key_shapes(config)
    ref = {DIFFUSION_PREFIX + k: list(s) for k, s in u.items()}
    ref.update({EMA_PREFIX + ema_name(k): list(s) for k, s in u.items()})
    ref.update({EMA_PREFIX + e: [] for e in EMA_EXTRA})
    ref.update({FIRST_STAGE_PREFIX + k: list(s) for k, s in v.items()})
    return ref, {k: list(s) for k, s in v.items()}
