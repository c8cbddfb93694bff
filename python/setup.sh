#!/usr/bin/env bash
# Creates python/.venv with exactly the packages of python/requirements.lock (every package pinned, sha256-checked:
# pip --require-hashes; regenerate the lock with scripts/lock-python.sh). Idempotent: re-running installs only when
# the lock changed. torch==2.13.0+cpu is not on PyPI: it comes from the machine's wheel directory
# (REFBENCH_WHEELS, default /opt/wheels, or pip's own find-links).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
lock="$here/requirements.lock"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.refbench-deps"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  wheels=()
  if [ -d "${REFBENCH_WHEELS:-/opt/wheels}" ]; then wheels=(--find-links "${REFBENCH_WHEELS:-/opt/wheels}"); fi
  pip=("$venv/bin/python" -m pip install -q --require-hashes --no-deps --only-binary :all: "${wheels[@]}")
  # pip first, on its own (a pip that replaces itself in the middle of a larger install may fail to import itself)
  grep -E '^pip==' "$lock" > "$venv/.refbench-pip.lock"
  "${pip[@]}" -r "$venv/.refbench-pip.lock"
  # Everything else, the reference implementations (lpips, pyiqa, scikit-video) included: the lock holds the whole
  # environment, so nothing is resolved here. Those three are locked without their own dependency trees
  # (torchvision, transformers, ...: gigabytes and hub downloads); the golden generators import only what they need.
  "${pip[@]}" -r "$lock"
  echo "$want" > "$stamp"
fi
# Put python/ on the venv's path so `python/.venv/bin/python -m refbench_export ...` works from any directory.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$here" > "$site/refbench-python.pth"
echo "python venv ready: $venv"
