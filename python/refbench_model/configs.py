"""Model configurations: ``paper`` (the released ReF-LDM config, configs/refldm.yaml @ af6690c) and ``tiny``.

``tiny`` keeps the structure that matters to a runner (512x512 in/out, f = 8, 8 latent channels, 16-channel
U-Net input, 16 self-attention layers at 32^2 / 16^2 / 8^2 + middle, legacy head split) but is narrow, so that
its ONNX bundle is a few MB and a 10-step 512^2 sample runs in seconds on a CPU.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class VaeConfig:
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 1, 2, 4)
    num_res_blocks: int = 2
    z_channels: int = 8
    embed_dim: int = 8
    n_embed: int = 8192
    in_channels: int = 3
    out_ch: int = 3
    resolution: int = 512
    norm_groups: int = 32
    norm_eps: float = 1e-6


@dataclass(frozen=True)
class UnetConfig:
    in_channels: int = 16
    out_channels: int = 8
    model_channels: int = 160
    channel_mult: tuple[int, ...] = (1, 2, 2, 4)
    num_res_blocks: int = 2
    attention_resolutions: tuple[int, ...] = (2, 4, 8)
    num_head_channels: int = 32
    norm_groups: int = 32
    norm_eps: float = 1e-5
    image_size: int = 64
    context_dim: int = 8  # cross-attention design only: reference latent tokens have 8 channels
    channel_concat_refs: int = 5  # channel-concatenation design only

    @property
    def time_embed_dim(self) -> int:
        return self.model_channels * 4


@dataclass(frozen=True)
class ModelConfig:
    name: str
    vae: VaeConfig = field(default_factory=VaeConfig)
    unet: UnetConfig = field(default_factory=UnetConfig)

    def to_json(self) -> dict:
        """camelCase dicts for bundle.json."""
        def camel(d: dict) -> dict:
            out = {}
            for k, v in d.items():
                parts = k.split("_")
                out[parts[0] + "".join(p.title() for p in parts[1:])] = list(v) if isinstance(v, tuple) else v
            return out
        u = camel(asdict(self.unet))
        u["timeEmbedDim"] = self.unet.time_embed_dim
        return {"vae": camel(asdict(self.vae)), "unet": u}


PAPER = ModelConfig("paper", VaeConfig(), UnetConfig())

# NOTE: tiny departs from the paper only in widths, group counts, head dim and codebook size (1024 entries:
# fewer ArgMin near-ties between backends in parity tests). Everything else (depths, levels, attention
# placement, eps values, f = 8) is the paper's.
TINY = ModelConfig(
    "tiny",
    VaeConfig(ch=8, ch_mult=(1, 2, 2, 4), num_res_blocks=2, n_embed=1024, norm_groups=4),
    UnetConfig(model_channels=8, channel_mult=(1, 1, 1, 2), num_head_channels=4, norm_groups=4),
)

# ``mini`` (issue 16): the candidate miniature between tiny and paper, trainable on 2 CPU cores on cached latents.
# U-Net model_channels 32, mult (1,1,2,2) as in the step-time table; 16-channel heads, 8 groups. The VAE is a
# narrow f = 8 VQGAN (ch 32) with a 1024-entry codebook.
MINI = ModelConfig(
    "mini",
    VaeConfig(ch=32, ch_mult=(1, 1, 2, 4), num_res_blocks=2, n_embed=1024, norm_groups=8),
    UnetConfig(model_channels=32, channel_mult=(1, 1, 2, 2), num_head_channels=16, norm_groups=8),
)

CONFIGS: dict[str, ModelConfig] = {"paper": PAPER, "tiny": TINY, "mini": MINI}

DESIGNS = ("cachekv", "spatial", "cross", "channel")


def get_config(name: str) -> ModelConfig:
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; known: {', '.join(CONFIGS)}")
    return CONFIGS[name]
