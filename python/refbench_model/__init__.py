"""ReF-LDM (Hsiao et al., NeurIPS 2024) PyTorch reference: VQGAN, U-Net with explicit CacheKV, DDIM sampler."""
