#!/usr/bin/env bash
# Creates python/.venv with the pinned build/test tools. Idempotent: re-running only installs what is missing.
# torch==2.13.0 (CPU) is taken from the machine's wheel directory when pip finds it there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.refbench-deps"
want="$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q "torch==2.13.0" "onnx==1.23.1" "onnxruntime==1.30.0" "numpy>=1.26,<3" \
    "scipy>=1.13" "pillow>=10" "opencv-python-headless>=4.9" "pytest>=8"
  # Reference implementations, code only: their own dependency trees (torchvision, transformers, ...) pull
  # gigabytes and hub downloads; the golden generators import only the modules they need.
  "$venv/bin/python" -m pip install -q --no-deps "lpips==0.1.4" "pyiqa==0.1.16" "scikit-video==1.1.11"
  echo "$want" > "$stamp"
fi
# Put python/ on the venv's path so `python/.venv/bin/python -m refbench_export ...` works from any directory.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$here" > "$site/refbench-python.pth"
echo "python venv ready: $venv"
