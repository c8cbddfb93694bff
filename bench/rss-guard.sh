#!/usr/bin/env bash
# Runs a command and kills its whole process group when the summed RSS of the command's process tree exceeds a
# limit (default 14 GiB; RSS_LIMIT_MIB to change), or when the machine's MemAvailable falls under MIN_AVAIL_MIB
# (default 1024; other processes count there too), so a heavy bench on a shared machine never makes the kernel OOM.
# Prints the tree's largest summed RSS seen (sampled every half second) when the command ends.
#   bench/rss-guard.sh npx tsx bench/attention-form.ts --full .cache/attn-full
set -u
limit_kib=$(( ${RSS_LIMIT_MIB:-14336} * 1024 ))
min_avail_kib=$(( ${MIN_AVAIL_MIB:-1024} * 1024 ))
setsid "$@" &
root=$!
tree_rss() { # summed VmRSS (KiB) of $root and its descendants
  local pids=$root frontier=$root next p
  while [ -n "$frontier" ]; do
    next=""
    for p in $frontier; do next="$next $(cat /proc/$p/task/*/children 2>/dev/null)"; done
    frontier=$(echo $next); pids="$pids $frontier"
  done
  local sum=0 r
  for p in $pids; do r=$(awk '/^VmRSS/{print $2}' /proc/$p/status 2>/dev/null); sum=$(( sum + ${r:-0} )); done
  echo $sum
}
max=0
while kill -0 $root 2>/dev/null; do
  s=$(tree_rss)
  [ "$s" -gt "$max" ] && max=$s
  if [ "$s" -gt "$limit_kib" ]; then
    echo "rss-guard: tree RSS $((s / 1024)) MiB > $((limit_kib / 1024)) MiB: killing process group $root" >&2
    kill -KILL -- -$root 2>/dev/null
    break
  fi
  avail=$(awk '/^MemAvailable/{print $2}' /proc/meminfo)
  if [ "$avail" -lt "$min_avail_kib" ]; then
    echo "rss-guard: MemAvailable $((avail / 1024)) MiB < $((min_avail_kib / 1024)) MiB (tree RSS $((s / 1024)) MiB): killing process group $root" >&2
    kill -KILL -- -$root 2>/dev/null
    break
  fi
  sleep 0.5
done
wait $root; rc=$?
echo "rss-guard: largest summed RSS seen $((max / 1024)) MiB (rc $rc)" >&2
exit $rc
