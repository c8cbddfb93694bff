"""LPIPS v0.1 (VGG16 / AlexNet trunks) for refbench: torchvision-layout trunks, the reference pipeline of the
pip ``lpips`` package run on those trunks, and the converter to ONNX (``python -m refbench_metrics.lpips.convert``)."""
