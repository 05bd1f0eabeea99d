#!/usr/bin/env bash
# A one-node Slurm cluster (slurmctld + slurmd, authenticated by a private munged) without systemd, for the
# cluster-executor tests.
#
#   scripts/slurm-cluster.sh start   install slurm-wlm + munge if missing, write a private slurm.conf and munge key,
#                                    start munged, slurmctld and slurmd in the background, wait until the node is
#                                    idle, print `export SLURM_CONF=…`
#   scripts/slurm-cluster.sh stop    stop the daemons by PID (their state is kept; `stop --purge` removes it)
#                                 (only when no other caller that ran `start` still holds a lease on it: see below)
#   scripts/slurm-cluster.sh env     print the `export` line; exit 1 when the controller does not answer
#   scripts/slurm-cluster.sh smoke   submit one job with `sbatch --wait` and check its output
#
# Environment:
#   PIPELINE_SERVERS_DIR   parent work folder (default /tmp/pipeline-servers); this cluster uses ./slurm
#   PIPELINE_SLURM_PORT    slurmctld port (default 16817; slurmd uses the next one)
#
# Only stdout carries the `export` line; progress and timings go to stderr.
set -euo pipefail

W="${PIPELINE_SERVERS_DIR:-/tmp/pipeline-servers}/slurm"
SERVICE=slurm-cluster
# shellcheck source=lib/servers.sh
. "$(dirname "$0")/lib/servers.sh"
PORT="${PIPELINE_SLURM_PORT:-16817}"
CONF="$W/slurm.conf"
SOCK="$W/munge/munge.socket"
NODE=$(hostname -s)


install_packages() {
  local missing=()
  command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 || missing+=(slurm-wlm)
  command -v munged >/dev/null 2>&1 || missing+=(munge)
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} ..."
  apt_install "${missing[@]}"
}

# pid of daemon NAME when alive and still that program (by command line; just after the spawn it may be setsid).
daemon_pid() {
  local f="$W/run/$1.pid" pid cmdline
  [[ -f "$f" ]] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ " $cmdline" == *" $1 "* || " $cmdline" == *"/$1 "* ]] || return 1
  echo "$pid"
}

spawn() {
  local name=$1
  shift
  setsid "$@" >"$W/log/$name.out" 2>&1 </dev/null 9>&- &
  echo $! >"$W/run/$name.pid"
}

wait_for() { # wait_for NAME SECONDS CHECK...
  local name=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    # Our own child: its pid cannot be reused before we reap it, and just after the spawn it may not have
    # exec'd the daemon yet, so liveness is the whole check here.
    kill -0 "$(cat "$W/run/$name.pid")" 2>/dev/null || { tail -n 20 "$W/log/$name.out" "$W/log/$name.log" 2>/dev/null >&2 || true; die "$name exited during start-up (logs: $W/log)"; }
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$name did not become ready within $seconds s (logs: $W/log)"
}

write_config() {
  mkdir -p "$W/run" "$W/log" "$W/state" "$W/spool" "$W/munge"
  chmod 700 "$W/munge"
  [[ -f "$W/munge/munge.key" ]] || mungekey --create --keyfile="$W/munge/munge.key" >/dev/null 2>&1 ||
    dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 status=none
  chmod 600 "$W/munge/munge.key"
  local mem cpus
  mem=$(free -m | awk '/^Mem:/ { printf "%d", $2 * 0.9 }')
  cpus=$(nproc)
  cat >"$CONF" <<CONF
ClusterName=pipeline
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/run/slurmctld.daemon.pid
SlurmdPidFile=$W/run/slurmd.daemon.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  if daemon_pid slurmctld >/dev/null && daemon_pid slurmd >/dev/null && SLURM_CONF="$CONF" scontrol ping 2>/dev/null | grep -q UP; then
    log "already running, reusing it"
    return 0
  fi
  stop_daemons
  write_config
  local t
  t=$(date +%s.%N)
  # Clients that are not root need o+x on the socket folder to authenticate.
  chmod 711 "$W/munge"
  spawn munged munged --foreground --force --socket="$SOCK" --key-file="$W/munge/munge.key" \
    --pid-file="$W/run/munged.daemon.pid" --log-file="$W/log/munged.log" --seed-file="$W/munge/munge.seed"
  wait_for munged 10 test -S "$SOCK"
  chmod 711 "$W/munge"
  log "munged: $(elapsed "$t")"
  t=$(date +%s.%N)
  export SLURM_CONF="$CONF"
  spawn slurmctld slurmctld -D -c -f "$CONF"
  wait_for slurmctld 30 sh -c 'scontrol ping | grep -q UP'
  log "slurmctld: $(elapsed "$t")"
  t=$(date +%s.%N)
  spawn slurmd slurmd -D -f "$CONF"
  wait_for slurmd 60 sh -c 'sinfo -h -N -o %t | grep -qx idle'
  log "slurmd (node idle): $(elapsed "$t")"
}

stop_daemons() {
  local name pid
  for name in slurmd slurmctld munged; do
    if pid=$(daemon_pid "$name"); then stop_pid "$name" "$pid" 15; fi
    rm -f "$W/run/$name.pid"
  done
}

smoke() {
  export SLURM_CONF="$CONF"
  local dir t
  dir=$(mktemp -d "$W/smoke.XXXXXX")
  t=$(date +%s.%N)
  (cd "$dir" && sbatch --wait --parsable --output="$dir/out.txt" --wrap 'echo "hello from $SLURM_JOB_ID on $(hostname -s)"' >"$dir/id") ||
    die "sbatch --wait failed"
  grep -q "^hello from $(cat "$dir/id") on $NODE\$" "$dir/out.txt" || { cat "$dir/out.txt" >&2; die "the smoke job wrote something else"; }
  log "smoke job $(cat "$dir/id") ran in $(elapsed "$t")"
  rm -rf "$dir"
}

STARTED=0
on_exit() {
  local rc=$?
  if ((rc != 0 && STARTED)); then log "start failed: stopping what it started"; stop_daemons || true; fi
  exit "$rc"
}

case "${1:-}" in
start)
  mkdir -p "$W"
  lock_state 300
  trap on_exit EXIT
  T0=$(date +%s.%N)
  install_packages
  STARTED=1
  start
  STARTED=0
  log "ready in $(elapsed "$T0")"
  echo "export SLURM_CONF=$CONF"
  take_lease
  ;;
stop)
  [[ -d "$W" ]] || exit 0
  lock_state 300
  if still_leased "$@"; then exit 0; fi
  stop_daemons
  if [[ " $* " == *" --purge "* ]]; then rm -rf "$W"; log "stopped, state removed"; else log "stopped (state kept in $W)"; fi
  ;;
env)
  if daemon_pid slurmctld >/dev/null && SLURM_CONF="$CONF" scontrol ping 2>/dev/null | grep -q UP; then echo "export SLURM_CONF=$CONF"; else log "not running"; exit 1; fi
  ;;
smoke)
  smoke
  ;;
*)
  echo "usage: $0 start|stop [--force] [--purge]|env|smoke" >&2
  exit 2
  ;;
esac
