"""ONNX bundle exporter for ReF-LDM (python -m refbench_export bundle ...)."""
