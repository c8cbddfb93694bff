#!/usr/bin/env bash
# Installs onnxruntime's CUDA execution provider for onnxruntime-node (docs/performance.md, "The CUDA provider"):
# downloads the NuGet package
# Microsoft.ML.OnnxRuntime.Gpu.Linux of the SAME version as the installed onnxruntime-node and copies
# libonnxruntime_providers_{shared,cuda,tensorrt}.so into node_modules/onnxruntime-node/bin/napi-v6/linux/x64/.
# The CUDA runtime (cudart, cublas, cublasLt, curand) and cuDNN 9 must be on the loader path; check with
#   objdump -p node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so | grep NEEDED
# Usage: bash scripts/install-cuda-provider.sh [--version X.Y.Z] [--nupkg path/to/local.nupkg]
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="$(node -p "require('./node_modules/onnxruntime-node/package.json').version")"
NUPKG=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version) VERSION="$2"; shift 2 ;;
    --nupkg) NUPKG="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
DEST="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
[[ -d "$DEST" ]] || { echo "$DEST not found: run npm install first" >&2; exit 1; }
TMP="$(mktemp -d)"; trap 'rm -rf "$TMP"' EXIT
if [[ -z "$NUPKG" ]]; then
  URL="https://api.nuget.org/v3-flatcontainer/microsoft.ml.onnxruntime.gpu.linux/${VERSION}/microsoft.ml.onnxruntime.gpu.linux.${VERSION}.nupkg"
  echo "downloading $URL"
  curl -fL --retry 3 -o "$TMP/pkg.nupkg" "$URL" || { echo "download failed (no access to api.nuget.org?); pass --nupkg with a local copy" >&2; exit 1; }
  NUPKG="$TMP/pkg.nupkg"
fi
# A .nupkg is a zip; use python's zipfile so that `unzip` need not be installed.
python3 - "$NUPKG" "$DEST" <<'PY'
import sys, zipfile, pathlib
pkg, dest = sys.argv[1], pathlib.Path(sys.argv[2])
want = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"]
with zipfile.ZipFile(pkg) as z:
    names = {pathlib.PurePosixPath(n).name: n for n in z.namelist() if n.startswith("runtimes/linux-x64/native/")}
    for w in want:
        if w not in names:
            sys.exit(f"{pkg}: {w} not in runtimes/linux-x64/native/ (found: {', '.join(sorted(names))})")
        (dest / w).write_bytes(z.read(names[w]))
        print(f"installed {dest / w}")
PY
node -e "const o=require('onnxruntime-node');console.log('backends:',JSON.stringify(o.listSupportedBackends?o.listSupportedBackends():'n/a'))"
echo "done: try  node bin/refbench.js bench fusion --config tiny --steps 3 --refs 1 --designs cachekv --device cuda"
