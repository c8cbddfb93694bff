#!/usr/bin/env bash
# Are the numbers unchanged? Runs the demo and `report --paper table5` on the embedded benchmark for two versions
# of the code and compares what they wrote, apart from timings and timestamps (issue 18, "Done when").
#
#   bash scripts/same-numbers.sh [--limit N] [--levels severe,moderate] [--keep] BASE_REF [HEAD_REF]
#
# BASE_REF and HEAD_REF are git revisions; without HEAD_REF the other side is the working tree as it is now
# (tracked and untracked files that git does not ignore, uncommitted edits included).
#
# Each side is a snapshot of the code (`git archive` of the revision, or a copy of the working tree) at ONE fixed
# path, with node_modules symlinked from this checkout (python is not needed). Both sides run at the same path one
# after the other, so the absolute paths the demo writes into its specs (and so the run ids) are the same on both
# sides; each side starts with no .cache (its own synthfaces-ref, sha256 cache and feature cache). Per side:
#   refbench demo [--limit N --levels L] --results-dir results
#   refbench reproduce table5 --benchmark synthfaces-ref-severe --restorer refldm-tiny --limit N --results-dir results
#   refbench report --paper table5 --benchmark synthfaces-ref-severe --restorer refldm-tiny --results-dir results
# Then scripts/same-numbers-compare.mjs compares: every samples.jsonl line (every metric of every sample), eval.jsonl
# (set metrics: FID, KID), summary.json, run.json, thumbs.jsonl, every PNG/WebP/npz byte for byte, the generated
# benchmark's files, and the report text. The timing and timestamp fields it strips are listed there by name (and
# the one list it compares as a set); results/bench/ (the demo's fusion timing, a timestamped directory) is timing
# only and is not compared.
#
# Prints a short summary of the differences; exit 0 = identical, 1 = a difference, 2 = a side failed to run.
# Time, measured on the shared 2-core machine at load 15-18: `--limit 2 --levels severe` took 741 + 732 s (both
# sides, 25 min); the defaults (the demo's: 4 samples per level, severe and moderate) run about 2.5 times as many
# images.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
LIMIT=""
LEVELS=""
KEEP=0
ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --limit) LIMIT="$2"; shift 2 ;;
    --levels) LEVELS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage ;;
    -*) echo "same-numbers: unknown option $1" >&2; usage ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[[ ${#ARGS[@]} -ge 1 && ${#ARGS[@]} -le 2 ]] || usage
BASE_REF="${ARGS[0]}"
HEAD_REF="${ARGS[1]:-}"

REPO="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
cd "$REPO"
[[ -d node_modules ]] || { echo "same-numbers: $REPO/node_modules missing (npm ci first)" >&2; exit 2; }
git rev-parse --verify --quiet "$BASE_REF^{commit}" >/dev/null || { echo "same-numbers: BASE_REF '$BASE_REF' is not a commit" >&2; exit 2; }
[[ -z "$HEAD_REF" ]] || git rev-parse --verify --quiet "$HEAD_REF^{commit}" >/dev/null || { echo "same-numbers: HEAD_REF '$HEAD_REF' is not a commit" >&2; exit 2; }
DEMO_LIMIT_DEFAULT=4 # src/lib/server/demo/demo.ts DEMO_LIMIT
REPRO_LIMIT="${LIMIT:-$DEMO_LIMIT_DEFAULT}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/same-numbers.XXXXXX")"
cleanup() { if [[ $KEEP -eq 0 ]]; then rm -rf "$WORK"; else echo "same-numbers: kept $WORK" >&2; fi; }
trap cleanup EXIT
TREE="$WORK/tree"

# The code of one side into $TREE.
snapshot() {
  local ref="$1"
  rm -rf "$TREE"
  mkdir -p "$TREE"
  if [[ -n "$ref" ]]; then
    git archive "$ref" | tar -x -C "$TREE"
  else
    # The working tree: tracked files that still exist plus untracked files git does not ignore.
    git ls-files -z --cached --others --exclude-standard --deduplicate |
      while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done |
      tar --null -T - -c | tar -x -C "$TREE"
  fi
  ln -s "$REPO/node_modules" "$TREE/node_modules"
}

# Runs one side; its outputs go to $WORK/<label>/{results,dataset,report-table5.md,log}.
run_side() {
  local label="$1" ref="$2" out="$WORK/$1"
  mkdir -p "$out"
  snapshot "$ref"
  local demo_args=() repro=(--benchmark synthfaces-ref-severe --restorer refldm-tiny --results-dir results)
  [[ -n "$LIMIT" ]] && demo_args+=(--limit "$LIMIT")
  [[ -n "$LEVELS" ]] && demo_args+=(--levels "$LEVELS")
  local t0=$SECONDS
  echo "same-numbers: $label ($( [[ -n "$ref" ]] && git rev-parse --short "$ref" || echo 'working tree')): demo, reproduce table5, report --paper table5" >&2
  if ! (
    cd "$TREE"
    unset REFBENCH_RESULTS_DIR REFBENCH_CONFIG REFBENCH_SHA256_CACHE REFBENCH_FEATURE_CACHE REFBENCH_MEASURED_DIR
    nice -n 5 node bin/refbench.js demo --results-dir results "${demo_args[@]}" &&
      nice -n 5 node bin/refbench.js reproduce table5 "${repro[@]}" --limit "$REPRO_LIMIT" &&
      nice -n 5 node bin/refbench.js report --paper table5 "${repro[@]}" >"$out/report-table5.md"
  ) >"$out/log" 2>&1; then
    echo "same-numbers: $label failed; the last lines of $out/log:" >&2
    tail -20 "$out/log" >&2
    KEEP=1
    exit 2
  fi
  mv "$TREE/results" "$out/results"
  mv "$TREE/.cache/synthfaces-ref" "$out/dataset"
  echo "same-numbers: $label done in $((SECONDS - t0)) s" >&2
}

T0=$SECONDS
run_side base "$BASE_REF"
run_side head "$HEAD_REF"
set +e
node "$REPO/scripts/same-numbers-compare.mjs" "$WORK/base" "$WORK/head"
rc=$?
set -e
echo "same-numbers: $BASE_REF vs ${HEAD_REF:-the working tree}: $([[ $rc -eq 0 ]] && echo identical || echo DIFFERENT) ($((SECONDS - T0)) s in all)"
[[ $rc -eq 0 ]] || KEEP=1
exit $rc
