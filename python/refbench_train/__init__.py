"""refbench_train: the open ReF-LDM trainer (issue 16). ``python -m refbench_train <stage> --config FILE``.

Stages: ``vqgan`` (autoencoder), ``ldm`` (LQ-only latent diffusion), ``refldm`` (any fusion design, optionally
fine-tuned from another checkpoint), ``arcface`` (identity network). See docs/training.md.
"""
