#!/usr/bin/env bash
# @file A real single-node SLURM (Debian's slurm-wlm 22.05 + munge) for tests and local try-outs, without systemd.
#
# Everything lives under one folder (default /tmp/refbench-slurm): a private munge key and socket, slurm.conf, the
# controller's state, slurmd's spool, pid files and logs. Nothing under /etc is written, so several instances (e.g. two
# concurrent `npm test`s, each with its own --dir and ports) run side by side, and a system SLURM, if any, is untouched.
# Clients find the instance through SLURM_CONF: `eval "$(scripts/slurm-local.sh env --dir DIR)"`.
#
# Usage: scripts/slurm-local.sh install
#        scripts/slurm-local.sh start  [--dir DIR] [--ctld-port N] [--slurmd-port N] [--timeout S]
#        scripts/slurm-local.sh status [--dir DIR]
#        scripts/slurm-local.sh stop   [--dir DIR]
#        scripts/slurm-local.sh env    [--dir DIR]      (prints `export SLURM_CONF=...`)
#
# install  apt-get installs slurm-wlm and munge (no recommends: 9 packages, ~10 s); nothing when already there.
# start    idempotent: a running, healthy instance is left as it is (stop it first to change its ports); daemons left
#          over from a killed run are replaced.
#          Waits until `sinfo` shows the node idle (resuming it when the controller kept it DOWN from a previous run),
#          or fails after --timeout seconds (default 60) printing the daemons' logs.
# status   exit 0 when munged, slurmctld and slurmd are alive and the controller answers; 3 otherwise.
# stop     cancels this instance's jobs, stops its daemons by their pid files (TERM, then KILL), leaves nothing
#          running. Only processes whose pid files are in DIR are touched.
# Ports default to those of the folder's previous start when free, else to the first free ones from 6817/6818.
# `start` needs no root: every daemon runs as the invoking user (SlurmUser = SlurmdUser = `id -un`), and jobs may then
# be submitted by that user only (a root slurmd would be needed to run jobs as other users). `install` needs root.
# See docs/slurm.md for the gotchas this script handles.
set -Eeuo pipefail
# An unexpected failure says where, instead of exiting silently under set -e.
trap 'echo "slurm-local: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

DIR="${REFBENCH_SLURM_DIR:-/tmp/refbench-slurm}"
CTLD_PORT=""
SLURMD_PORT=""
TIMEOUT=60

die() { echo "slurm-local: $*" >&2; exit 1; }
say() { echo "slurm-local: $*"; }

cmd="${1:-}"
[[ -n "$cmd" ]] || { sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 2; }
shift
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --ctld-port) CTLD_PORT="$2"; shift 2 ;;
    --slurmd-port) SLURMD_PORT="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    *) die "unknown argument: $1 (see: $0 with no arguments)" ;;
  esac
done
DIR="$(realpath -m "$DIR")"
CONF="$DIR/etc/slurm.conf"
MUNGE_DIR="$DIR/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket"
export SLURM_CONF="$CONF"
NODE="$(hostname -s)"

# --- processes -------------------------------------------------------------------------------------------------------

# pid_of NAME: the pid in NAME's pid file when that process is alive and is NAME (a recycled pid is not ours).
pid_of() {
  local name="$1" file pid
  case "$name" in
    munged) file="$MUNGE_DIR/munged.pid" ;;
    *) file="$DIR/run/$name.pid" ;;
  esac
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file" 2>/dev/null | tr -dc '0-9')"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  # A killed daemon stays a zombie until PID 1 reaps it (in containers PID 1 is often not an init, and slow at it).
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  # Debian installs the daemons as slurmctld-wlm/slurmd-wlm behind update-alternatives; comm keeps the real name.
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name"* ]] || return 1
  echo "$pid"
}

# stop_daemons NAME...: TERM to all of them at once (slurmctld alone takes ~4 s to save its state and exit), wait up to
# 15 s, then KILL what is left.
stop_daemons() {
  local name pid i left
  local -A pids=()
  for name in "$@"; do
    if pid="$(pid_of "$name")"; then pids[$name]="$pid"; kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 150; i++)); do
    left=0
    for name in "${!pids[@]}"; do pid_of "$name" >/dev/null && left=1; done
    ((left)) || break
    sleep 0.1
  done
  for name in "${!pids[@]}"; do
    if pid_of "$name" >/dev/null; then
      kill -KILL "${pids[$name]}" 2>/dev/null || true
      say "killed $name (${pids[$name]}) after 15 s"
    else
      say "stopped $name (${pids[$name]})"
    fi
  done
}

# Job steps (slurmstepd) outlive slurmd; each keeps slurmd's log file (DIR/log/slurmd.log) open, which is how we
# recognise ours (ls -l /proc/PID/fd) without touching another instance's steps.
our_stepds() {
  local pid
  for pid in $(pgrep -x slurmstepd || true); do
    if ls -l "/proc/$pid/fd" 2>/dev/null | grep -qF "$DIR/"; then echo "$pid"; fi
  done
}

# descendants PID...: every process below them (a job's shell and what it started), deepest last.
descendants() {
  local kids pid
  for pid in "$@"; do
    kids="$(pgrep -P "$pid" || true)"
    # shellcheck disable=SC2086
    [[ -z "$kids" ]] || { echo "$kids"; descendants $kids; }
  done
}

alive_all() { pid_of munged >/dev/null && pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null; }

# The node's state as sinfo prints it (idle, down*, ...), or nothing while slurmctld does not answer.
node_state() { sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n1 || true; }

print_logs() {
  local f
  for f in "$MUNGE_DIR/munged.log" "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log"; do
    echo "----- $f (last 40 lines)" >&2
    tail -n 40 "$f" >&2 2>/dev/null || echo "(missing)" >&2
  done
}

# --- configuration ---------------------------------------------------------------------------------------------------

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Explicit ports are used as given (start fails if one is busy). Otherwise the ports of this folder's previous start
# are reused when still free (a daemon's port may have been taken by another instance since), else the first free
# ones from 6817 (slurmctld) and 6818 (slurmd) on.
choose_ports() {
  local saved p
  if [[ -z "$CTLD_PORT" ]]; then
    saved="$(sed -n 's/^SlurmctldPort=//p' "$CONF" 2>/dev/null || true)"
    if [[ -n "$saved" && "$saved" != "$SLURMD_PORT" ]] && port_free "$saved"; then CTLD_PORT="$saved"; fi
  fi
  if [[ -z "$SLURMD_PORT" ]]; then
    saved="$(sed -n 's/^SlurmdPort=//p' "$CONF" 2>/dev/null || true)"
    if [[ -n "$saved" && "$saved" != "$CTLD_PORT" ]] && port_free "$saved"; then SLURMD_PORT="$saved"; fi
  fi
  for ((p = 6817; p < 7017; p += 2)); do
    [[ -z "$CTLD_PORT" ]] || break
    if [[ "$p" != "$SLURMD_PORT" ]] && port_free "$p"; then CTLD_PORT="$p"; fi
  done
  for ((p = 6818; p < 7018; p += 2)); do
    [[ -z "$SLURMD_PORT" ]] || break
    if [[ "$p" != "$CTLD_PORT" ]] && port_free "$p"; then SLURMD_PORT="$p"; fi
  done
  [[ -n "$CTLD_PORT" && -n "$SLURMD_PORT" ]] || die "no free ports in 6817-7017; pass --ctld-port and --slurmd-port"
  [[ "$CTLD_PORT" != "$SLURMD_PORT" ]] || die "--ctld-port and --slurmd-port must differ"
}

write_conf() {
  # The node line is what slurmd itself detects (`slurmd -C`: CPUs, sockets, cores, threads, RealMemory in MB).
  # NOTE: a hand-written RealMemory above the detected one makes the controller mark the node INVAL/DRAIN.
  local node_line
  node_line="$(slurmd -C | grep '^NodeName=' | sed "s/^NodeName=[^ ]*/NodeName=$NODE NodeAddr=127.0.0.1/")"
  [[ -n "$node_line" ]] || die "slurmd -C printed no NodeName line"
  mkdir -p "$DIR/etc"
  cat >"$CONF.tmp" <<EOF
# Written by scripts/slurm-local.sh: a single-node cluster for tests. Rewritten on every start.
ClusterName=refbench
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (none usable in containers / gVisor), no accounting daemon, no MPI, no mail.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# NOTE: batch_sched_delay (default 3 s) holds each wave of batch jobs back; with 2 CPUs a 3-task array and its merge job
# are three waves, 8-10 s end to end by default and 4 s with 0.
SchedulerParameters=batch_sched_delay=0
# A node that registers with a valid configuration comes back by itself, even after it was DOWN for any reason.
ReturnToService=2
# NOTE: sbatch --wait polls after 2 s, then multiplies its sleep by 4 (up to 32 s) while it is under MinJobAge/2, so
# the default MinJobAge=300 makes a 1-second job take 10 s and a 20-second one 42 s. 4 keeps the poll at 2 s.
# Finished jobs then leave scontrol/squeue after 4 s or more (there is no sacct without accounting).
MinJobAge=4
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
$node_line State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

# --- munge -----------------------------------------------------------------------------------------------------------

start_munged() {
  mkdir -p "$MUNGE_DIR"
  # munged refuses a socket unless every folder above it is searchable by all (a mkdtemp folder is 0700): --force
  # turns that into a warning. Harmless here: munged, the daemons and the clients all run as the same user.
  chmod 0755 "$MUNGE_DIR"
  if [[ ! -s "$MUNGE_DIR/munge.key" ]]; then
    # A fresh 1024-byte key, private to this instance (the system's /etc/munge/munge.key is left alone).
    (umask 077 && dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none)
    say "created munge key $MUNGE_DIR/munge.key"
  fi
  chmod 0400 "$MUNGE_DIR/munge.key"
  if ! pid_of munged >/dev/null; then
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock" "$MUNGE_DIR/munged.pid"
    munged 9>&- --force --key-file="$MUNGE_DIR/munge.key" --socket="$MUNGE_SOCKET" --pid-file="$MUNGE_DIR/munged.pid" \
      --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed" \
      || { print_logs; die "munged did not start"; }
  fi
  local i
  for ((i = 0; i < 50; i++)); do
    if munge -n -S "$MUNGE_SOCKET" 2>/dev/null | unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  print_logs
  stop_daemons munged >&2
  die "munged does not answer on $MUNGE_SOCKET"
}

# --- subcommands -----------------------------------------------------------------------------------------------------

do_install() {
  if command -v sbatch >/dev/null && command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    say "already installed ($(slurmctld -V))"
    return 0
  fi
  command -v apt-get >/dev/null || die "cannot install: no apt-get on this machine (need Debian's slurm-wlm and munge)"
  [[ "$(id -u)" == 0 ]] || die "cannot install: apt-get needs root"
  export DEBIAN_FRONTEND=noninteractive
  # DPkg::Lock::Timeout: wait for a concurrent apt-get (another test run, .ci/run's chromium step) instead of failing.
  local pkgs=(slurm-wlm munge) log
  log="$(mktemp)"
  # NOTE: --no-install-recommends: the recommends pull ~30 more packages (HDF5, InfluxDB, IPMI, ROCm plugins).
  # Debian's postinst scripts try to start the services; without systemd (or with a policy-rc.d) that is refused,
  # harmlessly: `start` runs the daemons itself.
  if ! apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${pkgs[@]}" >"$log" 2>&1; then
    apt-get update -qq >>"$log" 2>&1 || true
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=120 "${pkgs[@]}" >>"$log" 2>&1 \
      || { tail -n 20 "$log" >&2; rm -f "$log"; die "apt-get install ${pkgs[*]} failed"; }
  fi
  rm -f "$log"
  say "installed $(slurmctld -V)"
}

do_start() {
  for c in munged munge slurmctld slurmd sinfo scontrol; do
    command -v "$c" >/dev/null || die "$c not found: run '$0 install' first"
  done
  local t0=$SECONDS
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/run" "$DIR/log"
  lock
  if alive_all && [[ -f "$CONF" ]] && [[ "$(node_state)" == idle* || "$(node_state)" == mixed* || "$(node_state)" == allocated* ]]; then
    say "already running in $DIR (node $NODE $(node_state))"
    return 0
  fi
  # Partly alive (a daemon died or was killed): restart the slurm daemons from a clean slate of processes.
  stop_daemons slurmd slurmctld
  choose_ports
  for p in "$CTLD_PORT" "$SLURMD_PORT"; do
    port_free "$p" || die "port $p is in use (another SLURM?): pass --ctld-port/--slurmd-port or stop it"
  done
  start_munged
  write_conf
  # -i: ignore unreadable state files (a controller killed while writing them); job and node state are kept otherwise.
  slurmctld 9>&- -i -f "$CONF" || { print_logs; do_stop >&2; die "slurmctld did not start"; }
  slurmd 9>&- -f "$CONF" -N "$NODE" || { print_logs; do_stop >&2; die "slurmd did not start"; }
  local state resumed=0
  while ((SECONDS - t0 < TIMEOUT)); do
    state="$(node_state)"
    case "$state" in
      idle | idle~ | mixed | allocated) say "up in $((SECONDS - t0)) s: node $NODE $state, SLURM_CONF=$CONF"; return 0 ;;
      down* | drain* | drained* | fail*)
        # ReturnToService=2 clears most of these on registration; a DOWN kept in the controller's state from a
        # previous run with a reason set by an admin (scontrol) needs an explicit resume.
        if ((resumed == 0)); then
          scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
          resumed=1
          say "node $NODE was $state: resumed"
        fi ;;
    esac
    sleep 0.5
  done
  echo "slurm-local: node $NODE not idle after ${TIMEOUT} s (state: '${state:-no answer from slurmctld}')" >&2
  sinfo -N -l >&2 2>/dev/null || true
  print_logs
  do_stop >&2  # a failed start leaves nothing running
  exit 1
}

do_status() {
  local name pid ok=0
  echo "dir: $DIR"
  echo "SLURM_CONF=$CONF"
  for name in munged slurmctld slurmd; do
    if pid="$(pid_of "$name")"; then echo "$name: running (pid $pid)"; else echo "$name: not running"; ok=3; fi
  done
  if ((ok == 0)) && sinfo -N -l 2>/dev/null; then squeue 2>/dev/null || true; else ok=3; fi
  exit "$ok"
}

do_stop() {
  local i
  if pid_of slurmctld >/dev/null; then
    # Cancel this instance's jobs so that their slurmstepd processes end too.
    local jobs
    mapfile -t jobs < <(squeue -h -o '%A' 2>/dev/null | sort -u)
    if ((${#jobs[@]})); then scancel --quiet --full --signal=KILL "${jobs[@]}" 2>/dev/null || true; scancel --quiet "${jobs[@]}" 2>/dev/null || true; fi
    for ((i = 0; i < 50; i++)); do [[ -z "$(our_stepds)" ]] && break; sleep 0.1; done
  fi
  stop_daemons slurmd slurmctld
  # A step that ignored the cancel (stuck in D state, stopped...): kill it and the job processes under it.
  local stepds pid
  stepds="$(our_stepds)"
  if [[ -n "$stepds" ]]; then
    # shellcheck disable=SC2086
    for pid in $(descendants $stepds) $stepds; do
      if kill -KILL "$pid" 2>/dev/null; then say "killed leftover job process $pid"; fi
    done
  fi
  stop_daemons munged
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
}

# start and stop of one folder never overlap (two test workers, or a stop racing a start); the daemons do not
# inherit the lock's descriptor (9>&- where they are started).
lock() { exec 9>"$DIR/.lock"; flock -w 120 9 || die "could not lock $DIR/.lock within 120 s"; }

case "$cmd" in
  install) do_install ;;
  start) do_start ;;
  status) do_status ;;
  stop) [[ -d "$DIR" ]] || exit 0; lock; do_stop ;;
  env) echo "export SLURM_CONF=$(printf '%q' "$CONF")" ;;
  *) die "unknown command: $cmd (install | start | status | stop | env)" ;;
esac
