#!/usr/bin/env bash
# nginx serving the HTTP build-cache layout (Bazel's) for the remote-cache tests.
#
#   scripts/http-cache.sh start   install nginx if missing, start it in the background with its own folders,
#                                 print the `export` lines below (reuses a running server)
#   scripts/http-cache.sh stop    stop it by PID (its stored objects are kept; `stop --purge` removes them)
#                                 (only when no other caller that ran `start` still holds a lease on it: see below)
#   scripts/http-cache.sh env     print the `export` lines of the running server; exit 1 when it is not running
#
# Layout: PUT/GET/HEAD [/<prefix>]/cas/<sha256> and [/<prefix>]/ac/<key> (no authentication), and the same below /private/ behind
# HTTP basic auth with a fixed test user. Uploads land in a temp file on the same filesystem and are renamed into
# place, so a reader never sees half an object. nginx checks nothing: the client verifies what it downloads.
#
# Environment:
#   PIPELINE_SERVERS_DIR       parent work folder (default /tmp/pipeline-servers); this server uses ./http-cache
#   PIPELINE_HTTP_CACHE_PORT   port on 127.0.0.1 (default 18480)
#
# Printed: PIPELINE_TEST_HTTP_URL, PIPELINE_TEST_HTTP_AUTH_URL, PIPELINE_TEST_HTTP_USER, PIPELINE_TEST_HTTP_PASSWORD.
# Only stdout carries the `export` lines; progress and timings go to stderr.
set -euo pipefail

W="${PIPELINE_SERVERS_DIR:-/tmp/pipeline-servers}/http-cache"
SERVICE=http-cache
# shellcheck source=lib/servers.sh
. "$(dirname "$0")/lib/servers.sh"
PORT="${PIPELINE_HTTP_CACHE_PORT:-18480}"
PIDFILE="$W/nginx.pid"
CONF="$W/nginx.conf"
USER_NAME=pipeline-test
PASSWORD=pipeline-test-secret-7f3a

install_packages() {
  [[ -x /usr/sbin/nginx ]] && return 0
  log "installing nginx ..."
  mkdir -p "$W"
  apt_install nginx
}

server_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == nginx ]] || return 1
  echo "$pid"
}

answers() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/cas/probe" 2>/dev/null | grep -qE '^(404|200)$'; }

print_env() {
  echo "export PIPELINE_TEST_HTTP_URL=http://127.0.0.1:$PORT"
  echo "export PIPELINE_TEST_HTTP_AUTH_URL=http://127.0.0.1:$PORT/private"
  echo "export PIPELINE_TEST_HTTP_USER=$USER_NAME"
  echo "export PIPELINE_TEST_HTTP_PASSWORD=$PASSWORD"
}

write_config() {
  mkdir -p "$W/data/cas" "$W/data/ac" "$W/data/private/cas" "$W/data/private/ac" "$W/data/.tmp" "$W/tmp"
  # apr1 hash, so no extra package is needed for htpasswd.
  printf '%s:%s\n' "$USER_NAME" "$(openssl passwd -apr1 "$PASSWORD")" >"$W/htpasswd"
  local user_line=""
  [[ $(id -u) -eq 0 ]] && user_line="user root;"
  cat >"$CONF" <<CONF
$user_line
worker_processes 2;
daemon off;
pid $PIDFILE;
error_log $W/error.log warn;
events { worker_connections 512; }
http {
  access_log $W/access.log;
  default_type application/octet-stream;
  sendfile on;
  # Request bodies are spooled beside the data and renamed into place: an upload is never visible half-written.
  client_body_temp_path $W/data/.tmp;
  client_max_body_size 0;
  proxy_temp_path $W/tmp/proxy;
  fastcgi_temp_path $W/tmp/fastcgi;
  uwsgi_temp_path $W/tmp/uwsgi;
  scgi_temp_path $W/tmp/scgi;
  server {
    listen 127.0.0.1:$PORT;
    root $W/data;
    log_not_found off;
    # Any prefix (one per test, or per team) before cas/ and ac/; the private tree first, regexes match in order.
    location ~ ^/private/([A-Za-z0-9._-]+/)*(cas|ac)/[A-Za-z0-9._-]+\$ {
      auth_basic "pipeline cache";
      auth_basic_user_file $W/htpasswd;
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
    location ~ ^/([A-Za-z0-9._-]+/)*(cas|ac)/[A-Za-z0-9._-]+\$ {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
    location / { return 404; }
  }
}
CONF
}

start() {
  if server_pid >/dev/null && answers; then
    log "already running (pid $(server_pid)), reusing it"
    return 0
  fi
  stop_server
  write_config
  local t0 pid i
  t0=$(date +%s.%N)
  /usr/sbin/nginx -t -c "$CONF" -p "$W" >"$W/configtest.log" 2>&1 || { cat "$W/configtest.log" >&2; die "nginx refused $CONF"; }
  setsid /usr/sbin/nginx -c "$CONF" -p "$W" >"$W/nginx.out" 2>&1 </dev/null 9>&- &
  pid=$!
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$W/error.log" "$W/nginx.out" >&2 || true; die "nginx exited during start-up"; }
    answers && break
    sleep 0.05
  done
  answers || { kill -TERM "$pid" 2>/dev/null || true; die "nginx did not answer on 127.0.0.1:$PORT within 10 s (log: $W/error.log)"; }
  echo "$pid" >"$PIDFILE"
  log "nginx started (pid $pid) in $(elapsed "$t0")"
}

stop_server() {
  local pid
  if pid=$(server_pid); then stop_pid nginx "$pid" 10; fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
start)
  mkdir -p "$W"
  lock_state 120
  T0=$(date +%s.%N)
  install_packages
  start
  log "ready in $(elapsed "$T0")"
  print_env
  take_lease
  ;;
stop)
  [[ -d "$W" ]] || exit 0
  lock_state 120
  if still_leased "$@"; then exit 0; fi
  stop_server
  if [[ " $* " == *" --purge "* ]]; then rm -rf "$W/data"; log "stopped, data removed"; else log "stopped (data kept in $W/data)"; fi
  ;;
env)
  if server_pid >/dev/null && answers; then print_env; else log "not running"; exit 1; fi
  ;;
*)
  echo "usage: $0 start|stop [--force] [--purge]|env" >&2
  exit 2
  ;;
esac
