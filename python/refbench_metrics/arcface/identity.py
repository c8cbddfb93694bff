"""ReF-LDM's IDS convention (``ldm/modules/losses/identity_loss.py`` IdentityLoss, written anew): RGB in [-1,1],
centre crop rows/cols [int(0.0625 H) : int(0.9375 H)], ``F.interpolate(size=112, mode='area')``, ArcFace,
``F.cosine_similarity`` (dim 1) against the ground truth's embedding."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def to_minus_one_one(u8_hwc: np.ndarray) -> torch.Tensor:
    """uint8 HWC RGB → 1×3×H×W float32, eval.py's ``2·(u/255) − 1``."""
    x = torch.from_numpy(u8_hwc.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return 2 * x - 1


def preprocess(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[2], x.shape[3]
    x = x[:, :, int(0.0625 * h):int(0.9375 * h), int(0.0625 * w):int(0.9375 * w)]
    return F.interpolate(x, size=(112, 112), mode="area")


@torch.no_grad()
def embed(model, x: torch.Tensor) -> torch.Tensor:
    return model(preprocess(x))


@torch.no_grad()
def ids(model, pred: torch.Tensor, gt: torch.Tensor) -> list[float]:
    """Per-image cosine similarity (= 1 − IdentityLoss) of ArcFace(pred) and ArcFace(gt)."""
    return [float(v) for v in F.cosine_similarity(embed(model, pred), embed(model, gt), dim=1)]
