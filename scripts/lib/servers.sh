# Shared by the scripts that start the servers the test suites use (http-cache.sh, s3-server.sh,
# slurm-cluster.sh): messages, timings, installing Debian packages, the state folder's lock, and leases.
# Source it after setting SERVICE (the name messages start with) and W (the service's state folder).

log() { printf '%s: %s\n' "$SERVICE" "$*" >&2; }
die() { log "error: $*"; exit 1; }
# Seconds since a `date +%s.%N` taken earlier, as "1.2 s".
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

# apt_install PACKAGE...: install from Debian's archive (root only), quietly; the log is kept in $W/apt.log.
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "installing $* needs root; run as root or install them first"
  mkdir -p "$W"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get -o DPkg::Lock::Timeout=600 update &&
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@"; } >"$W/apt.log" 2>&1 ||
    { tail -n 20 "$W/apt.log" >&2; die "apt-get could not install $* (log: $W/apt.log)"; }
}

# stop_pid LABEL PID SECONDS: SIGTERM, wait up to SECONDS for it to end, then SIGKILL (and say so).
stop_pid() {
  local label=$1 pid=$2 limit=$(($3 * 10)) i
  log "stopping $label (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$label (pid $pid) did not stop within $3 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# lock_state SECONDS: hold $W/lock (on fd 9, until the script ends), so one start or stop runs at a time.
lock_state() {
  mkdir -p "$W"
  exec 9>"$W/lock"
  flock -w "$1" 9 || die "another $(basename "$0") holds $W/lock"
}

# Leases: each `start` takes one for its caller (the parent process, or $PIPELINE_SERVERS_LEASE); `stop` returns it
# and stops the daemons only when no other live caller holds one (`stop --force` stops them regardless), so
# concurrent test runs sharing this folder do not pull the server from under each other.
LEASES="$W/leases"
LEASE="${PIPELINE_SERVERS_LEASE:-$PPID}"
take_lease() { mkdir -p "$LEASES" && : >"$LEASES/$LEASE"; }
# The callers other than this one that still hold a lease (leases of processes that ended are dropped).
other_leases() {
  local f name
  rm -f "$LEASES/$LEASE"
  for f in "$LEASES"/*; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f")
    if [[ "$name" =~ ^[0-9]+$ ]] && ! kill -0 "$name" 2>/dev/null; then rm -f "$f"; else printf '%s ' "$name"; fi
  done
}
# still_leased ARGS...: return this caller's lease; true (and says so) when others still use the service and ARGS
# has no --force, so `stop` leaves it running.
still_leased() {
  local others
  others=$(other_leases)
  if [[ -n "$others" && " $* " != *" --force "* ]]; then
    log "left running: still used by ${others% } (\`$0 stop --force\` stops it anyway)"
    return 0
  fi
  return 1
}
