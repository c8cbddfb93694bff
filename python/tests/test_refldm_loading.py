"""Strict loading of official-layout checkpoints: EMA weights used, every missing/unexpected key named."""
from __future__ import annotations

import json
import pathlib

import pytest
import torch

from refbench_model.build import build_random
from refbench_model.checkpoint import (CheckpointError, check_unknown, ema_name, load_official, official_key_tables,
                                       paper_key_shapes, unet_from_refldm, vae_copy_prefixes, vae_from_refldm,
                                       vae_from_vqgan,
                                       IGNORED_REFLDM_PREFIXES, REFLDM_PREFIXES, SCHEDULE_BUFFERS)

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def _fake_paper_sd() -> dict:
    """Official names/shapes of the paper config as zero-stride tensors (no memory)."""
    keys = json.loads((FIXTURES / "refldm_keys.json").read_text())["keys"]
    sd = {k: torch.zeros(()).expand(tuple(s)) for k, s in keys.items()}
    sd["alphas_cumprod"] = torch.zeros(1000)
    # the official state dict holds the shared VQGAN three times (first_stage_model, cond_stage_model.lq_image,
    # cond_stage_model.ref_image: one module under three names)
    for key in ("lq_image", "ref_image"):
        sd.update({f"cond_stage_model.{key}.{k[len('first_stage_model.'):]}": v for k, v in list(sd.items())
                   if k.startswith("first_stage_model.")})
    return sd


def test_paper_layout_passes_strict_checks():
    unet_shapes, vae_shapes = paper_key_shapes("paper")
    sd = _fake_paper_sd()
    check_unknown("refldm.ckpt", sd, REFLDM_PREFIXES, IGNORED_REFLDM_PREFIXES, SCHEDULE_BUFFERS)
    assert vae_copy_prefixes(sd) == ["first_stage_model.", "cond_stage_model.lq_image.", "cond_stage_model.ref_image."]
    assert len(unet_from_refldm(sd, unet_shapes)) == len(unet_shapes)
    assert len(vae_from_refldm(sd, vae_shapes)) == len(vae_shapes)
    vq = {k: torch.zeros(()).expand(tuple(s)) for k, s in json.loads((FIXTURES / "vqgan_keys.json").read_text())["keys"].items()}
    vq["loss.discriminator.main.0.weight"] = torch.zeros(1)
    assert len(vae_from_vqgan({"state_dict": vq, "epoch": 3}, vae_shapes)) == len(vae_shapes)


def test_missing_ema_key_fails_naming_it():
    unet_shapes, _ = paper_key_shapes("paper")
    sd = _fake_paper_sd()
    del sd["model_ema.diffusion_modelinput_blocks41qkvweight"]
    with pytest.raises(CheckpointError, match=r"missing keys: model_ema\.diffusion_modelinput_blocks41qkvweight "
                                              r"\(<-> model\.diffusion_model\.input_blocks\.4\.1\.qkv\.weight\)"):
        unet_from_refldm(sd, unet_shapes)


def test_unexpected_and_mismatched_keys_fail():
    unet_shapes, vae_shapes = paper_key_shapes("paper")
    sd = _fake_paper_sd()
    sd["model.diffusion_model.input_blocks.4.1.crossattn_norm.weight"] = torch.zeros(320)
    with pytest.raises(CheckpointError, match=r"unexpected keys: model\.diffusion_model\.input_blocks\.4\.1\.crossattn_norm\.weight"):
        unet_from_refldm(sd, unet_shapes)
    sd = _fake_paper_sd()
    sd["model.diffusion_model.out.2.weight"] = torch.zeros(8, 160, 1, 1)
    with pytest.raises(CheckpointError, match=r"out\.2\.weight: checkpoint \(8, 160, 1, 1\) != model \(8, 160, 3, 3\)"):
        unet_from_refldm(sd, unet_shapes)
    sd = _fake_paper_sd()
    sd["some_new_module.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="some_new_module.weight"):
        check_unknown("refldm.ckpt", sd, REFLDM_PREFIXES, IGNORED_REFLDM_PREFIXES, SCHEDULE_BUFFERS)
    with pytest.raises(CheckpointError, match=r"missing keys: encoder\.conv_in\.weight"):
        vq = {k: torch.zeros(()).expand(tuple(s)) for k, s in official_key_tables("paper")[1].items()}
        del vq["encoder.conv_in.weight"]
        vae_from_vqgan({"state_dict": vq}, vae_shapes)


def _official_style_tiny(tmp: pathlib.Path, with_first_stage: bool, cond_copies: bool = False):
    vae, unets = build_random("tiny", 0)
    _, other = build_random("tiny", 5)
    unet, ema = unets["cachekv"].state_dict(), other["cachekv"].state_dict()
    sd = {f"model.diffusion_model.{k}": v for k, v in unet.items()}
    sd.update({f"model_ema.{ema_name(k)}": v for k, v in ema.items()})
    sd["model_ema.decay"] = torch.tensor(0.9999)
    sd["model_ema.num_updates"] = torch.tensor(10, dtype=torch.int32)
    sd["betas"] = torch.zeros(1000)
    if with_first_stage:
        sd.update({f"first_stage_model.{k}": v for k, v in vae.state_dict().items()})
    if cond_copies:  # as model.state_dict() of the official LatentDiffusion writes them (shared module)
        for key in ("lq_image", "ref_image"):
            sd.update({f"cond_stage_model.{key}.{k}": v.clone() for k, v in vae.state_dict().items()})
    torch.save(sd, tmp / "refldm.ckpt")
    vq = dict(vae.state_dict())
    vq["loss.logvar"] = torch.zeros(())
    torch.save({"state_dict": vq, "global_step": 1}, tmp / "vqgan.ckpt")
    return vae, ema


@pytest.mark.parametrize("with_first_stage", [True, False])
def test_load_official_uses_ema_weights(tmp_path, with_first_stage):
    vae_ref, ema = _official_style_tiny(tmp_path, with_first_stage)
    vae, unets, info = load_official("tiny", tmp_path / "refldm.ckpt", tmp_path / "vqgan.ckpt")
    got = unets["cachekv"].state_dict()
    assert all(torch.equal(got[k], ema[k]) for k in ema)
    assert all(torch.equal(a, b) for a, b in zip(vae.state_dict().values(), vae_ref.state_dict().values()))
    assert info["kind"] == "checkpoint" and len(info["refldmSha256"]) == 64 and len(info["vqganSha256"]) == 64


def test_load_official_without_any_vae_fails(tmp_path):
    _official_style_tiny(tmp_path, with_first_stage=False)
    with pytest.raises(CheckpointError, match=r"holds no VQGAN \(first_stage_model"):
        load_official("tiny", tmp_path / "refldm.ckpt", None)


@pytest.mark.parametrize("with_first_stage", [True, False])
def test_equal_vqgan_copies_load(tmp_path, with_first_stage):
    """first_stage_model.* and cond_stage_model.{lq_image,ref_image}.* equal (as the official model saves them):
    loads, and the VQGAN is that copy (not vqgan.ckpt's, which would lose to load_state_dict officially)."""
    vae_ref, _ = _official_style_tiny(tmp_path, with_first_stage, cond_copies=True)
    torch.save({"state_dict": build_random("tiny", 7)[0].state_dict()}, tmp_path / "vqgan.ckpt")  # a different VQGAN
    with pytest.warns(UserWarning, match="differs from"):
        vae, _, info = load_official("tiny", tmp_path / "refldm.ckpt", tmp_path / "vqgan.ckpt")
    assert all(torch.equal(a, b) for a, b in zip(vae.state_dict().values(), vae_ref.state_dict().values()))
    assert info["vaeSource"].startswith("refldm.ckpt cond_stage_model.ref_image.*")


def test_differing_vqgan_copies_fail_naming_the_keys(tmp_path):
    _official_style_tiny(tmp_path, True, cond_copies=True)
    sd = torch.load(tmp_path / "refldm.ckpt", weights_only=True)
    sd["cond_stage_model.ref_image.decoder.conv_out.bias"] = sd["cond_stage_model.ref_image.decoder.conv_out.bias"] + 0.5
    torch.save(sd, tmp_path / "refldm.ckpt")
    with pytest.raises(CheckpointError, match=r"the VQGAN copies differ: 1 tensor\(s\) of 'cond_stage_model\.ref_image\.\*' "
                                              r"are not equal to 'first_stage_model\.\*' \(decoder\.conv_out\.bias; "
                                              r"max \|diff\| 0\.5\).*keeps the copy loaded last"):
        load_official("tiny", tmp_path / "refldm.ckpt", tmp_path / "vqgan.ckpt")


def test_incomplete_vqgan_copy_fails(tmp_path):
    _official_style_tiny(tmp_path, True, cond_copies=True)
    sd = torch.load(tmp_path / "refldm.ckpt", weights_only=True)
    del sd["cond_stage_model.lq_image.encoder.conv_in.weight"]
    torch.save(sd, tmp_path / "refldm.ckpt")
    with pytest.raises(CheckpointError, match=r"under 'cond_stage_model\.lq_image\.': missing keys: "
                                              r"cond_stage_model\.lq_image\.encoder\.conv_in\.weight"):
        load_official("tiny", tmp_path / "refldm.ckpt", None)
