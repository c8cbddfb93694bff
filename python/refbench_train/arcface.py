"""The ``arcface`` stage: an identity network (insightface IResNet of any width, refbench_metrics/arcface/iresnet.py)
trained with the ArcFace additive angular margin loss, for domains without a released ArcFace (the embedded
synthfaces-ref benchmark). The IDS metric of the paper stays ArcFace R50.

Identities are the connected components of the reference graph of the training CSV (target -- each reference),
as FFHQ-Ref defines them (docs/protocol.md §2). Input: the IDS crop and area resize to 112 (identity.py), so the
network sees what the metric and the identity loss show it; horizontal flip p = 0.5; optionally an LQ version of
the image (``arcface.degrade_prob``, from ``data.lq_dirs``) so identity survives degradation.

Loss (insightface ``CombinedMarginLoss`` with m1 = 1, m2 = margin, m3 = 0): logits s*cos(theta) with the target's
replaced by s*cos(theta + m) where theta + m < pi, else s*(cos(theta) - m*sin(m)) (the usual monotonic fallback).
Outputs: ``identity.pt`` (bare IResNet state dict, insightface key names), ``identity.json`` (shape), and
``identity.onnx`` (input [B,3,112,112] RGB in [-1,1], output [B,E]).
"""
from __future__ import annotations

import json
import math
import pathlib

import torch
import torch.nn.functional as F
from torch import nn

from refbench_metrics.arcface.identity import preprocess
from refbench_metrics.arcface.iresnet import IResNet, export_onnx

from .common import load_ckpt, save_atomic, state_of, step_generator, warmup_lr
from .data import RefDataset


def load_identity(path, layers, width: int, embedding: int) -> IResNet:
    """A frozen IResNet from a bare or wrapped state dict (``backbone.`` prefixes stripped), strictly."""
    sd = state_of(load_ckpt(path))
    if any(k.startswith("backbone.") for k in sd):
        sd = {k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}
    net = IResNet(tuple(layers), num_features=embedding, base=width)
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{path}: not an IResNet{list(layers)} of width {width} and embedding {embedding} "
                         f"(id_loss.layers / width / embedding): {str(e)[:400]}") from e
    return net.eval().requires_grad_(False)


def identities(ds: RefDataset) -> list[int]:
    """Component label per image of ``ds.images``."""
    parent = list(range(len(ds.images)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a
    for t, refs in zip(ds.targets, ds.refs):
        for r in refs:
            parent[find(t)] = find(r)
    roots = sorted({find(i) for i in range(len(parent))})
    lab = {r: i for i, r in enumerate(roots)}
    return [lab[find(i)] for i in range(len(parent))]


class ArcFaceStage:
    design = None

    def __init__(self, cfg, log=print):
        self.cfg, self.log = cfg, log
        ac = cfg.arcface
        self.device = torch.device(cfg.device)
        self.out = pathlib.Path(cfg.out)
        self.data = RefDataset(cfg.data, cfg.data.resolution or 512, need_lq=ac.degrade_prob > 0)
        self.labels = torch.tensor(identities(self.data))
        self.n_cls = int(self.labels.max()) + 1
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.net = IResNet(tuple(ac.layers), num_features=ac.embedding, base=ac.width)
            self.head = nn.Parameter(torch.randn(self.n_cls, ac.embedding) * 0.01)
        self.net.to(self.device).train()
        self.head.data = self.head.data.to(self.device)
        self.opt = torch.optim.AdamW(list(self.net.parameters()) + [self.head], lr=cfg.train.lr,
                                     weight_decay=cfg.train.weight_decay)
        # every image, preprocessed once (crop + area 112): [N, 3, 112, 112]
        with torch.no_grad():
            self.hq = torch.cat([preprocess(self.data.image(i)[None]) for i in range(len(self.data.images))])
            self.lq = None
            if ac.degrade_prob > 0:
                row_of = {t: r for r, t in enumerate(self.data.targets)}
                self.lq = {(v, i): preprocess(self.data.lq(v, row_of[i])[None])[0]
                           for v in range(len(self.data.lq_dirs)) for i in row_of}
        log(f"arcface: {len(self.data.images)} images, {self.n_cls} identities")

    def margin_logits(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        ac = self.cfg.arcface
        cos = F.linear(F.normalize(emb.float()), F.normalize(self.head.float())).clamp(-1 + 1e-7, 1 - 1e-7)
        m = ac.margin
        tgt = cos.gather(1, labels[:, None])
        theta = torch.acos(tgt)
        with_m = torch.where(theta + m < math.pi, torch.cos(theta + m), tgt - m * math.sin(m))
        return ac.scale * cos.scatter(1, labels[:, None], with_m)

    def train_step(self, step: int) -> dict:
        cfg, ac = self.cfg, self.cfg.arcface
        g = step_generator(cfg.seed, step)
        lr = warmup_lr(cfg.train.lr, step, cfg.train.warmup_steps)
        for pg in self.opt.param_groups:
            pg["lr"] = lr
        b = cfg.train.batch_size
        idx = torch.randint(len(self.data.images), (b,), generator=g)
        flip = torch.rand(b, generator=g) < 0.5
        deg = torch.rand(b, generator=g) < ac.degrade_prob
        var = torch.randint(max(1, len(self.data.lq_dirs)), (b,), generator=g)
        xs = []
        for j, i in enumerate(idx.tolist()):
            x = self.hq[i]
            if deg[j] and self.lq is not None and (int(var[j]), i) in self.lq:
                x = self.lq[(int(var[j]), i)]
            xs.append(x.flip(-1) if flip[j] else x)
        x = torch.stack(xs).to(self.device)
        y = self.labels[idx].to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            emb = self.net(x)
        logits = self.margin_logits(emb, y)
        loss = F.cross_entropy(logits, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        acc = float((logits.argmax(1) == y).float().mean())
        return {"loss": float(loss.detach()), "acc": acc, "lr": lr}

    def checkpoint(self, step: int) -> dict:
        sd = {f"backbone.{k}": v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
        sd["head.weight"] = self.head.detach().cpu().clone()
        return {"state_dict": sd, "optimizer_states": [self.opt.state_dict()], "global_step": step,
                "refbench_train": {"stage": "arcface", "model": dict(self.cfg.arcface)}}

    def restore(self, ck: dict) -> int:
        sd = ck["state_dict"]
        self.net.load_state_dict({k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")},
                                 strict=True)
        with torch.no_grad():
            self.head.copy_(sd["head.weight"])
        self.opt.load_state_dict(ck["optimizer_states"][0])
        return int(ck["global_step"])

    def finish(self) -> list[pathlib.Path]:
        ac = self.cfg.arcface
        net = self.net.eval().cpu()
        p = self.out / "identity.pt"
        save_atomic({k: v.clone() for k, v in net.state_dict().items()}, p)
        j = self.out / "identity.json"
        j.write_text(json.dumps({"arch": "iresnet", "layers": ac.layers, "width": ac.width,
                                 "embedding": ac.embedding, "input": [3, 112, 112],
                                 "preprocess": "IDS crop rows/cols 0.0625-0.9375, area resize to 112, RGB [-1,1]",
                                 "identities": self.n_cls}, indent=1) + "\n")
        o = self.out / "identity.onnx"
        export_onnx(net, o)
        return [p, j, o]
