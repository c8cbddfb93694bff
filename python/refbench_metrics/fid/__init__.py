"""FID-Inception (the pytorch-fid port of TF ``inception-2015-12-05``) for refbench: the architecture
(``inception.py``), the clean-fid / pytorch-fid preprocessing (``pipeline.py``) and the ONNX converter
(``python -m refbench_metrics.fid.convert``)."""
