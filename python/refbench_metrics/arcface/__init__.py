"""ArcFace iresnet50 (insightface ``arcface_torch`` layout) and ReF-LDM's IdentityLoss convention, for refbench's
IDS goldens. The real network ships as ONNX (``w600k_r50.onnx`` / ``webface_r50.onnx``) and is used as-is."""
