"""refbench_train (issue 16): the recipe's pieces, checkpoints through the exporter and the strict loader, kill -9 and
resume, config/data errors. Tiny config on 64 px images (8x8 latents): seconds per test on CPU."""
from __future__ import annotations

import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from train_fixtures import make_dataset, write_config  # noqa: E402

from refbench_model.checkpoint import load_official  # noqa: E402
from refbench_model.configs import get_config  # noqa: E402
from refbench_train import diffusion as dif  # noqa: E402
from refbench_train.__main__ import main as train_main  # noqa: E402
from refbench_train.config import ConfigError, load_config  # noqa: E402
from refbench_train.data import DataError, pick_refs  # noqa: E402

PY = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("trainset"))


def _stage(tmp_path, data_root, design="cachekv", **over):
    torch.set_num_threads(1)
    c = write_config(tmp_path / "c.json", data_root, tmp_path / "run", **over)
    cfg = load_config(c, "refldm")
    return dif.DiffusionStage(cfg, design, log=lambda m: None), cfg


def _identity_net(path: pathlib.Path) -> pathlib.Path:
    from refbench_metrics.arcface.iresnet import IResNet
    torch.manual_seed(3)
    net = IResNet((1, 1, 1, 1), num_features=32, base=8).eval()
    torch.save(net.state_dict(), path)
    return path


def test_overfits_a_fixed_batch(tmp_path, data_root):
    """One fixed batch (latents, references, t, noise) trained for 100 AdamW steps (lr 3e-3). Measured here with
    seeds 0, 1, 2: the loss falls from about 1.0 (zero-initialised output: eps_hat = 0) by x37, x42, x46; the
    assertion asks for x15, well below the smallest measured factor."""
    st, _ = _stage(tmp_path, data_root)
    g = torch.Generator().manual_seed(0)
    z0, zlq, refs, _, _ = st.batch(g)
    t = torch.tensor([100, 700])
    noise = torch.randn(z0.shape, generator=g)
    ab = st.abar[t][:, None, None, None]
    x = torch.cat([ab.sqrt() * z0 + (1 - ab).sqrt() * noise, zlq], 1)
    opt = torch.optim.AdamW(st.unet.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        loss = torch.nn.functional.mse_loss(dif.predict_eps(st.unet, "cachekv", x, t, refs), noise)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(1.0, abs=0.3)
    assert losses[-1] < losses[0] / 15, (losses[0], losses[-1])


def test_condition_dropout_rates_and_independence():
    """p = 0.1 each, independent: 40,000 draws; tolerances 4.5 binomial sigmas (false-alarm rate ~1e-5)."""
    n = 40_000
    keep_lq, keep_refs = dif.condition_masks(n, 0.1, 0.1, torch.Generator().manual_seed(1))
    d_lq, d_refs = 1 - keep_lq, 1 - keep_refs
    tol = 4.5 * math.sqrt(0.1 * 0.9 / n)
    assert abs(float(d_lq.mean()) - 0.1) < tol
    assert abs(float(d_refs.mean()) - 0.1) < tol
    both = float((d_lq * d_refs).mean())
    assert abs(both - 0.01) < 4.5 * math.sqrt(0.01 * 0.99 / n)  # independent: P(both) = 0.1 * 0.1


def test_dropped_conditions_reach_the_unet_as_zeros(tmp_path, data_root, monkeypatch):
    seen = []
    real = dif.predict_eps

    def spy(unet, design, x, t, refs, attn="math"):
        seen.append((x[:, 8:].abs().amax(dim=(1, 2, 3)), refs.abs().amax(dim=(1, 2, 3, 4))))
        return real(unet, design, x, t, refs, attn)
    monkeypatch.setattr(dif, "predict_eps", spy)
    st, _ = _stage(tmp_path, data_root, **{"diffusion.uncond_prob_lq": 1.0, "diffusion.uncond_prob_refs": 0.0})
    st.losses(0, torch.Generator().manual_seed(0))
    lq_max, ref_max = seen[-1]
    assert torch.all(lq_max == 0) and torch.all(ref_max > 0)
    st.cfg.diffusion["uncond_prob_lq"], st.cfg.diffusion["uncond_prob_refs"] = 0.0, 1.0
    st.losses(0, torch.Generator().manual_seed(0))
    lq_max, ref_max = seen[-1]
    assert torch.all(lq_max > 0) and torch.all(ref_max == 0)


def test_identity_loss_is_scaled_by_sqrt_abar(tmp_path, data_root, monkeypatch):
    net = _identity_net(tmp_path / "id.pt")
    seen = {}
    real = dif.id_weights

    def spy(ab, t, by_t, t_max):
        w = real(ab, t, by_t, t_max)
        seen.update(ab=ab.clone(), t=t.clone(), w=w.clone())
        return w
    monkeypatch.setattr(dif, "id_weights", spy)
    st, _ = _stage(tmp_path, data_root, **{"id_loss": {"weight": 0.1, "network": str(net), "layers": [1, 1, 1, 1],
                                                       "width": 8, "embedding": 32}})
    _, m = st.losses(0, torch.Generator().manual_seed(5))
    abar = torch.from_numpy(__import__("refbench_model.schedule", fromlist=["x"]).alphas_cumprod())
    assert torch.equal(seen["ab"], abar[seen["t"]])
    assert torch.allclose(seen["w"], abar[seen["t"]].sqrt())
    assert m["loss"] == pytest.approx(m["loss_eps"] + 0.1 * m["loss_id"], rel=1e-6)
    # the ablation variant 't<100' masks the later timesteps; weight_by_t false gives weight 1
    t = torch.tensor([10, 99, 100, 900])
    ab = abar[t]
    assert torch.equal(real(ab, t, True, 100), torch.cat([ab[:2].sqrt(), torch.zeros(2)]))
    assert torch.equal(real(ab, t, False, None), torch.ones(4))


def test_identity_loss_frequency(tmp_path, data_root):
    net = _identity_net(tmp_path / "id.pt")
    st, _ = _stage(tmp_path, data_root, **{"id_loss": {"weight": 0.1, "network": str(net), "layers": [1, 1, 1, 1],
                                                       "width": 8, "embedding": 32, "every": 3, "from_step": 2}})
    has = [("loss_id" in st.losses(s, torch.Generator().manual_seed(s))[1]) for s in range(9)]
    assert has == [False, False, True, False, False, True, False, False, True]


def test_reference_rule_exactly_n_shuffled_duplicated():
    g = torch.Generator().manual_seed(0)
    out = pick_refs([7, 9], 5, True, True, g)
    assert len(out) == 5 and set(out) == {7, 9}
    many = pick_refs(list(range(9)), 5, True, True, g)
    assert len(set(many)) == 5
    orders = {tuple(pick_refs(list(range(6)), 5, True, True, g)) for _ in range(20)}
    assert len(orders) > 10  # shuffled
    assert pick_refs([1, 2, 3], 5, False, True, g) == [1, 2, 3, 1, 2]


def test_checkpoint_roundtrip_through_exporter_and_strict_loader(tmp_path, data_root):
    """Every design: the trainer's checkpoint loads with refbench_model's strict loader unchanged (EMA weights);
    cachekv also through `refbench_export bundle`, and the exported U-Net reproduces the EMA U-Net."""
    for design in ("cachekv", "spatial", "cross", "channel"):
        c = write_config(tmp_path / f"{design}.json", data_root, tmp_path / design, **{"train.steps": 2})
        assert train_main(["refldm", "--config", str(c), "--design", design]) == 0
        ck = tmp_path / design / "checkpoints" / "last.ckpt"
        raw = torch.load(ck, weights_only=True)
        vae, unets, info = load_official("tiny", ck, design=design)
        unet = unets[design]
        for k, p in unet.state_dict().items():
            ema = raw["state_dict"]["model_ema." + ("diffusion_model." + k).replace(".", "")]
            assert torch.equal(p, ema), k
        assert not torch.equal(unet.state_dict()["out.2.weight"], torch.zeros_like(unet.state_dict()["out.2.weight"]))
        bare = torch.load(tmp_path / design / "refldm.ckpt", weights_only=True)
        load_official("tiny", tmp_path / design / "refldm.ckpt", design=design)
        assert set(bare) == set(raw["state_dict"])
    from refbench_export.__main__ import main as export_main
    out = tmp_path / "bundle"
    assert export_main(["bundle", "--config", "tiny", "--ckpt", str(tmp_path / "cachekv" / "refldm.ckpt"),
                        "--designs", "cachekv", "--out", str(out)]) == 0
    bj = json.loads((out / "bundle.json").read_text())
    assert bj["weights"]["kind"] == "checkpoint" and bj["config"] == "tiny"
    import onnxruntime as ort
    _, unets, _ = load_official("tiny", tmp_path / "cachekv" / "refldm.ckpt")
    u = unets["cachekv"]
    x, t = torch.randn(1, 16, 64, 64), torch.tensor([500])
    with torch.no_grad():
        want = u.eps(x, t).numpy()
    sess = ort.InferenceSession(str(out / "unet.onnx"), providers=["CPUExecutionProvider"])
    feeds = {"x": x.numpy(), "t": t.numpy()}
    for i, L in enumerate(u.attention_layers):  # zero-length reference token axis is not allowed: one zero ref
        kv = torch.zeros(L["heads"], L["headDim"], L["tokens"]).numpy()
        feeds[f"k_{i:02d}"], feeds[f"v_{i:02d}"] = kv, kv
    with torch.no_grad():
        zero_kv = u.ref_kv(torch.zeros(1, 8, 64, 64))
        want = u.eps(x, t, [(torch.zeros_like(k), torch.zeros_like(v)) for k, v in zero_kv]).numpy()
    got = sess.run(["eps"], feeds)[0]
    assert abs(got - want).max() < 1e-4


def test_fine_tune_across_designs_starts_at_the_source(tmp_path, data_root):
    """cross from cachekv: new cross-attention layers start with a zero output projection; channel: the extra input
    channels start at zero. Either way the fine-tuned network starts as the source network on LQ-only inputs."""
    c = write_config(tmp_path / "src.json", data_root, tmp_path / "src", **{"train.steps": 2})
    assert train_main(["refldm", "--config", str(c)]) == 0
    src = tmp_path / "src" / "refldm.ckpt"
    base = dif.build_unet(get_config("tiny"), "cachekv", 0)
    dif.init_unet_from(base, src)
    x, t = torch.randn(2, 16, 8, 8), torch.tensor([10, 700])
    refs = torch.randn(2, 5, 8, 8, 8)
    with torch.no_grad():
        want = base.eps(x, t)
        for design in ("cross", "channel"):
            u = dif.build_unet(get_config("tiny"), design, 1)
            notes = dif.init_unet_from(u, src)
            assert notes
            got = dif.predict_eps(u, design, x, t, refs)
            assert torch.allclose(got, want, atol=1e-5), design


def test_kill_9_and_resume_equals_uninterrupted(tmp_path, data_root):
    """A run killed with SIGKILL after its first checkpoint, then restarted with the same command, ends with exactly
    (bit for bit, CPU, 1 thread) the weights, EMA, optimizer state and per-step log of an uninterrupted run."""
    over = {"train.steps": 12, "train.checkpoint_every": 3, "train.batch_size": 2}
    ca = write_config(tmp_path / "a.json", data_root, tmp_path / "a", **over)
    cb = write_config(tmp_path / "b.json", data_root, tmp_path / "b", **over)
    assert train_main(["refldm", "--config", str(ca)]) == 0
    cmd = [sys.executable, "-m", "refbench_train", "refldm", "--config", str(cb)]
    env = {**os.environ, "PYTHONPATH": str(PY)}
    p = subprocess.Popen(cmd, cwd=PY, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "b" / "log.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 4:  # past the step-3 checkpoint, mid-segment
            break
        time.sleep(0.005)
    assert p.poll() is None, "the run ended before it could be killed"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert not (tmp_path / "b" / "refldm.ckpt").exists()
    killed_at = len(log.read_text().splitlines())
    assert 4 <= killed_at < 12
    r = subprocess.run(cmd, cwd=PY, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stderr
    a = torch.load(tmp_path / "a" / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(tmp_path / "b" / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 12
    assert set(a["state_dict"]) == set(b["state_dict"])
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    sa, sb = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    for i in sa:
        for k in sa[i]:
            assert torch.equal(torch.as_tensor(sa[i][k]), torch.as_tensor(sb[i][k])), (i, k)
    la = [json.loads(x) for x in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    lb = [json.loads(x) for x in log.read_text().splitlines()]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "s_per_step"} for r in rows]  # noqa: E731
    assert strip(la) == strip(lb) and len(la) == 12


def test_progress_log_and_svg(tmp_path, data_root, capsys):
    c = write_config(tmp_path / "c.json", data_root, tmp_path / "run", **{"train.steps": 3})
    assert train_main(["refldm", "--config", str(c)]) == 0
    err = capsys.readouterr().err
    assert "step 3/3" in err and "ETA" in err and "s/step" in err
    rows = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2] and all(math.isfinite(r["loss"]) for r in rows)
    svg = (tmp_path / "run" / "curves.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") >= 2 and "loss_eps" in svg


def test_other_stages_write_loadable_outputs(tmp_path, data_root):
    from refbench_model.checkpoint import vae_from_vqgan
    from refbench_model.vae import VQGAN
    from refbench_train.arcface import load_identity
    drop = {"autoencoder": None, "diffusion": None, "id_loss": None}
    c = write_config(tmp_path / "vq.json", data_root, tmp_path / "vq", **{**drop, "train.steps": 3,
                                                                         "vqgan": {"disc_start": 1}})
    assert train_main(["vqgan", "--config", str(c)]) == 0
    obj = torch.load(tmp_path / "vq" / "vqgan.ckpt", weights_only=True)
    vae = VQGAN(get_config("tiny").vae)
    vae.load_state_dict(vae_from_vqgan(obj, {k: tuple(v.shape) for k, v in vae.state_dict().items()}), strict=True)
    assert any(k.startswith("loss.discriminator.") for k in obj["state_dict"])
    c = write_config(tmp_path / "arc.json", data_root, tmp_path / "arc",
                     **{**drop, "train.steps": 3, "arcface": {"layers": [1, 1, 1, 1], "width": 8, "embedding": 32}})
    assert train_main(["arcface", "--config", str(c)]) == 0
    net = load_identity(tmp_path / "arc" / "identity.pt", [1, 1, 1, 1], 8, 32)
    assert net(torch.zeros(2, 3, 112, 112)).shape == (2, 32)
    assert (tmp_path / "arc" / "identity.onnx").stat().st_size > 0
    c = write_config(tmp_path / "ldm.json", data_root, tmp_path / "ldm", **{"id_loss": None, "train.steps": 2})
    assert train_main(["ldm", "--config", str(c)]) == 0
    load_official("tiny", tmp_path / "ldm" / "ldm.ckpt")
    # the ReF-LDM stage fine-tunes from the LDM, with the VQGAN trained above
    c = write_config(tmp_path / "r.json", data_root, tmp_path / "r",
                     **{"train.steps": 2, "autoencoder": {"checkpoint": str(tmp_path / "vq" / "vqgan.ckpt")}})
    assert train_main(["refldm", "--config", str(c), "--init-from", str(tmp_path / "ldm" / "ldm.ckpt")]) == 0


def test_uncached_path_encodes_the_reference_strip(tmp_path, data_root):
    st, _ = _stage(tmp_path, data_root, **{"data.cache_latents": False})
    assert st.cache is None
    z0, zlq, refs, gts, _ = st.batch(torch.Generator().manual_seed(0))
    assert refs.shape == (2, 5, 8, 8, 8) and gts.shape == (2, 3, 64, 64)
    assert math.isfinite(st.train_step(0)["loss"])


# -- errors ----------------------------------------------------------------------------------------------------
def _err(tmp_path, data_root, stage="refldm", **over) -> str:
    c = write_config(tmp_path / "bad.json", data_root, tmp_path / "run", **over)
    with pytest.raises((ConfigError, DataError)) as ei:
        cfg = load_config(c, stage)
        dif.DiffusionStage(cfg, "cachekv", log=lambda m: None)
    return str(ei.value)


def test_bad_config_fields_are_named(tmp_path, data_root):
    m = _err(tmp_path, data_root, **{"train.bach_size": 3})
    assert "bad.json" in m and "train.bach_size" in m
    m = _err(tmp_path, data_root, **{"train.lr": "fast"})
    assert "train.lr" in m and "fast" in m
    m = _err(tmp_path, data_root, **{"diffusion.uncond_prob_lq": 1.5})
    assert "diffusion.uncond_prob_lq" in m
    m = _err(tmp_path, data_root, **{"out": None})
    assert "'out'" in m
    m = _err(tmp_path, data_root, **{"id_loss.weight": 0.1})
    assert "id_loss.network" in m
    m = _err(tmp_path, data_root, **{"model": "huge"})
    assert "model" in m and "mini" in m


def test_bad_data_paths_are_named(tmp_path, data_root):
    m = _err(tmp_path, data_root, **{"data.root": str(tmp_path / "nowhere")})
    assert str(tmp_path / "nowhere") in m
    m = _err(tmp_path, data_root, **{"data.lq_dirs": ["lq-train-0", "lq-missing"]})
    assert "lq-missing" in m and "data.lq_dirs" in m
    m = _err(tmp_path, data_root, **{"data.lq_dirs": []})
    assert "refbench data degrade" in m
    m = _err(tmp_path, data_root, **{"data.csv": "reference_mapping/none.csv"})
    assert "none.csv" in m


def test_cli_exit_2_names_the_problem(tmp_path, data_root, capsys):
    c = write_config(tmp_path / "c.json", data_root, tmp_path / "run", **{"data.hq_dir": "no_such_hq"})
    assert train_main(["refldm", "--config", str(c)]) == 2
    assert "no_such_hq" in capsys.readouterr().err
    assert train_main(["refldm", "--config", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in capsys.readouterr().err


def test_yaml_config_equals_json(tmp_path, data_root):
    j = write_config(tmp_path / "c.json", data_root, tmp_path / "run")
    raw = json.loads(j.read_text())
    y = tmp_path / "c.yaml"
    y.write_text(f"""# same config as YAML
model: tiny
seed: 0
out: {raw['out']}
threads: 1
train:
  steps: 4
  batch_size: 2
  lr: 1.0e-3
  warmup_steps: 2
  checkpoint_every: 2
  progress_every: 1
  plot_every: 2
data:
  root: {raw['data']['root']}
  lq_dirs: [lq-train-0, lq-train-1]
  resolution: 64
autoencoder:
  random_init: 0
id_loss:
  weight: 0.0
""")
    a, b = load_config(j, "refldm"), load_config(y, "refldm")
    a.pop("config_file"), b.pop("config_file")
    assert a == b
