#!/usr/bin/env bash
# A single-node Ceph cluster with radosgw: a real S3-compatible server for the remote-cache tests.
#
#   scripts/s3-server.sh start   install radosgw + ceph-mon + ceph-osd + ceph-common if missing, create the cluster
#                                (first time only: monitor, one bluestore OSD on a sparse file, S3 user), start the
#                                monitor, the OSD and radosgw in the background, print the `export` lines below
#   scripts/s3-server.sh stop    stop the daemons by PID (the cluster is kept; `stop --purge` removes it)
#                                 (only when no other caller that ran `start` still holds a lease on it: see below)
#   scripts/s3-server.sh env     print the `export` lines; exit 1 when radosgw is not answering
#
# No cephx (auth none, crc message mode), pool size 1, no manager: enough for S3 and nothing else.
#
# Environment:
#   PIPELINE_SERVERS_DIR   parent work folder (default /tmp/pipeline-servers); this server uses ./s3
#   PIPELINE_S3_PORT       radosgw port on 127.0.0.1 (default 18490)
#   PIPELINE_CEPH_MON_PORT monitor port (msgr2) on 127.0.0.1 (default 3300; msgr1 uses 6789)
#
# Printed: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and the same values as
# PIPELINE_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY (fixed test keys of user `pipeline-test`, which may create
# buckets). Only stdout carries the `export` lines; progress and phase timings go to stderr.
set -euo pipefail

W="${PIPELINE_SERVERS_DIR:-/tmp/pipeline-servers}/s3"
SERVICE=s3-server
# shellcheck source=lib/servers.sh
. "$(dirname "$0")/lib/servers.sh"
PORT="${PIPELINE_S3_PORT:-18490}"
MON_PORT="${PIPELINE_CEPH_MON_PORT:-3300}"
CONF="$W/ceph.conf"
RGW=client.rgw.pipeline
ACCESS_KEY=PIPELINETESTACCESS01
SECRET_KEY=pipelineTestSecretKey0123456789abcdefABCD
CEPH=(ceph -c "$CONF" --connect-timeout 10)

PHASE_NAME=""
PHASE_START=0
phase() { phase_end; PHASE_NAME="$1"; PHASE_START=$(date +%s.%N); log "$PHASE_NAME ..."; }
phase_end() {
  [[ -n "$PHASE_NAME" ]] || return 0
  log "$(awk -v n="$PHASE_NAME" -v a="$PHASE_START" -v b="$(date +%s.%N)" 'BEGIN { printf "%s: %.1f s", n, b - a }')"
  PHASE_NAME=""
}

install_packages() {
  local missing=()
  command -v radosgw >/dev/null 2>&1 || missing+=(radosgw)
  command -v ceph-mon >/dev/null 2>&1 || missing+=(ceph-mon)
  command -v ceph-osd >/dev/null 2>&1 || missing+=(ceph-osd)
  command -v ceph >/dev/null 2>&1 || missing+=(ceph-common)
  ((${#missing[@]} == 0)) && return 0
  phase "install ${missing[*]}"
  apt_install "${missing[@]}"
}

# pid of daemon NAME (mon, osd, rgw) when it is alive and still the program we started.
daemon_pid() {
  local f="$W/run/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # The command line, not the thread name: Ceph renames its threads, and just after the spawn the child may
  # still be `setsid` about to exec the daemon.
  local cmdline
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ " $cmdline" == *" $2 "* ]] || return 1
  echo "$pid"
}

rgw_answers() { curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/" 2>/dev/null | grep -qE '^[2-4][0-9][0-9]$'; }

print_env() {
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$PORT"
  echo "export AWS_ACCESS_KEY_ID=$ACCESS_KEY"
  echo "export AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
  echo "export AWS_REGION=us-east-1"
  echo "export PIPELINE_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT"
  echo "export PIPELINE_TEST_S3_ACCESS_KEY=$ACCESS_KEY"
  echo "export PIPELINE_TEST_S3_SECRET_KEY=$SECRET_KEY"
}

write_config() {
  local fsid=$1
  mkdir -p "$W/run" "$W/log" "$W/mon" "$W/osd" "$W/rgw"
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 3489))]
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_client_mode = crc
ms_cluster_mode = crc
ms_service_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
run_dir = $W/run
log_file = $W/log/\$name.log
admin_socket = $W/run/\$name.asok
mon_data = $W/mon/\$cluster-\$id
osd_data = $W/osd/\$cluster-\$id
keyring = $W/admin.keyring
osd_objectstore = bluestore
bluestore_block_create = true
bluestore_block_size = 12884901888
osd_memory_target = 1073741824
osd_max_object_size = 1073741824

[mon.a]
keyring = $W/mon.keyring

[$RGW]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $W/rgw
rgw_max_put_size = 5368709120
CONF
}

create_cluster() {
  phase "create the cluster (monitor, bluestore OSD on a sparse file)"
  rm -rf "$W/run" "$W/log" "$W/mon" "$W/osd" "$W/rgw" "$W"/*.keyring "$W/monmap" "$W/osd.id" "$W/created"
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_config "$fsid"
  ceph-authtool --create-keyring "$W/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$W/admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$W/mon.keyring" --import-keyring "$W/admin.keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 3489))]" "$W/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$W/monmap" --keyring "$W/mon.keyring" >"$W/log/mkfs-mon.out" 2>&1 ||
    { cat "$W/log/mkfs-mon.out" >&2; die "ceph-mon --mkfs failed"; }
  start_mon
  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$("${CEPH[@]}" osd new "$uuid") || die "ceph osd new failed"
  echo "$id" >"$W/osd.id"
  mkdir -p "$W/osd/ceph-$id"
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" >"$W/log/mkfs-osd.out" 2>&1 ||
    { tail -n 20 "$W/log/mkfs-osd.out" >&2; die "ceph-osd --mkfs failed"; }
  start_osd
  start_rgw
  phase "create the S3 user"
  radosgw-admin -c "$CONF" user create --uid=pipeline-test --display-name="pipeline tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" --max-buckets=1000 >"$W/log/user.out" 2>&1 ||
    { cat "$W/log/user.out" >&2; die "radosgw-admin user create failed"; }
  : >"$W/created"
}

# Start one daemon in the foreground of its own session; record its pid; fail when it exits early.
spawn() {
  local name=$1
  shift
  setsid "$@" >"$W/log/$name.out" 2>&1 </dev/null 9>&- &
  echo $! >"$W/run/$name.pid"
}

wait_for() { # wait_for NAME COMM SECONDS CHECK...
  local name=$1 comm=$2 seconds=$3 i
  shift 3
  for ((i = 0; i < seconds * 5; i++)); do
    # Our own child: its pid cannot be reused before we reap it, and just after the spawn it may not have
    # exec'd the daemon yet, so liveness is the whole check here.
    kill -0 "$(cat "$W/run/$name.pid")" 2>/dev/null || { tail -n 20 "$W/log/$name.out" >&2 || true; die "$comm exited during start-up (logs: $W/log)"; }
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  die "$comm did not become ready within $seconds s (logs: $W/log)"
}

start_mon() {
  daemon_pid mon ceph-mon >/dev/null && return 0
  phase "start ceph-mon"
  spawn mon ceph-mon -c "$CONF" -i a -f
  wait_for mon ceph-mon 60 "${CEPH[@]}" -s
}

osd_up() { "${CEPH[@]}" osd stat | grep -q ' 1 up'; }

cluster_full() { "${CEPH[@]}" health 2>/dev/null | grep -Eq 'full osd|pool\(s\) full'; }

start_osd() {
  daemon_pid osd ceph-osd >/dev/null && return 0
  phase "start ceph-osd"
  spawn osd ceph-osd -c "$CONF" -i "$(cat "$W/osd.id")" -f
  wait_for osd ceph-osd 120 osd_up
}

start_rgw() {
  daemon_pid rgw radosgw >/dev/null && rgw_answers && return 0
  phase "start radosgw"
  spawn rgw radosgw -c "$CONF" -n "$RGW" -f
  wait_for rgw radosgw 180 rgw_answers
}

stop_daemons() {
  local name comm pid
  for pair in rgw:radosgw osd:ceph-osd mon:ceph-mon; do
    name=${pair%%:*} comm=${pair#*:}
    if pid=$(daemon_pid "$name" "$comm"); then stop_pid "$comm" "$pid" 15; fi
    rm -f "$W/run/$name.pid"
  done
}

STARTED=0
on_exit() {
  local rc=$?
  phase_end || true
  if ((rc != 0 && STARTED)); then log "start failed: stopping what it started"; stop_daemons || true; fi
  exit "$rc"
}

case "${1:-}" in
start)
  mkdir -p "$W"
  lock_state 900
  trap on_exit EXIT
  T0=$(date +%s.%N)
  install_packages
  if daemon_pid rgw radosgw >/dev/null && rgw_answers; then
    log "already running, reusing it"
  else
    STARTED=1
    if [[ -f "$W/created" && -f "$CONF" ]]; then
      start_mon
      start_osd
      # A full OSD blocks every write without an answer (a PUT waits forever, radosgw never starts): what filled it
      # is test data of earlier runs, so the cluster is made again, empty.
      if cluster_full; then
        log "the OSD is full of earlier runs' objects: making the cluster again"
        stop_daemons
        create_cluster
      else
        start_rgw
      fi
    else
      stop_daemons
      create_cluster
    fi
  fi
  phase_end
  log "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "ready in %.1f s", b - a }')"
  print_env
  take_lease
  ;;
stop)
  [[ -d "$W" ]] || exit 0
  lock_state 900
  if still_leased "$@"; then exit 0; fi
  stop_daemons
  if [[ " $* " == *" --purge "* ]]; then
    rm -rf "$W"
    log "stopped, cluster removed"
  else
    log "stopped (cluster kept in $W)"
  fi
  ;;
env)
  if daemon_pid rgw radosgw >/dev/null && rgw_answers; then print_env; else log "not running"; exit 1; fi
  ;;
*)
  echo "usage: $0 start|stop [--force] [--purge]|env" >&2
  exit 2
  ;;
esac
