#!/usr/bin/env bash
# A Confluent-compatible Schema Registry on 127.0.0.1 (Apicurio Registry, in-memory storage), from Maven.
#
#   registry.sh up      fetch the distribution once, start in background, wait until the API answers,
#                       set the global compatibility; prints the API URL as the last line
#                       (a no-op when ours already answers on the port)
#   registry.sh down    SIGTERM (SIGKILL after 20 s) the PID we started; every `up` starts empty
#   registry.sh status  exit 0 when ours answers
#   registry.sh url     print the API URL (http://127.0.0.1:PORT/apis/ccompat/v7)
#   registry.sh fetch   only fetch and unpack
#
# Environment:
#   SCHEMA_REGISTRY_PORT        HTTP port (8081); Apicurio 3.3+ also opens a management port (port + 1)
#   SCHEMA_REGISTRY_VERSION     Apicurio version (3.0.9: runs on Java 17+; 3.3.x needs Java 21+)
#   SCHEMA_REGISTRY_CACHE       unpacked distributions (~/.cache/caliper-processor/schema-registry)
#   SCHEMA_REGISTRY_STATE_DIR   log, pid file and temp files (<repo>/.local-schema-registry/<port>)
#   SCHEMA_REGISTRY_COMPAT      global compatibility level set at start (BACKWARD, Confluent's default;
#                               empty keeps Apicurio's NONE)
#   SCHEMA_REGISTRY_JAVA_OPTS   JVM flags (small heap, serial GC, C1 only: starts and serves fastest here)
#   SCHEMA_REGISTRY_START_TIMEOUT  seconds to wait for the API (120)
#   JAVA                        java binary (java)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PORT="${SCHEMA_REGISTRY_PORT:-8081}"
MGMT_PORT="$((PORT + 1))"
VERSION="${SCHEMA_REGISTRY_VERSION:-$(sed -n 's:.*<apicurio.version>\(.*\)</apicurio.version>.*:\1:p' "$HERE/pom.xml")}"
CACHE="${SCHEMA_REGISTRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caliper-processor/schema-registry}"
DIST="$CACHE/apicurio-registry-$VERSION"
STATE="${SCHEMA_REGISTRY_STATE_DIR:-$REPO/.local-schema-registry/$PORT}"
PIDFILE="$STATE/registry.pid"
LOG="$STATE/registry.log"
TMP="$STATE/tmp"
COMPAT="${SCHEMA_REGISTRY_COMPAT-BACKWARD}"
JAVA_OPTS="${SCHEMA_REGISTRY_JAVA_OPTS:--Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
START_TIMEOUT="${SCHEMA_REGISTRY_START_TIMEOUT:-120}"
JAVA="${JAVA:-java}"
URL="http://127.0.0.1:$PORT/apis/ccompat/v7"

say() { echo "schema-registry: $*" >&2; }
die() { echo "schema-registry: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
http_ok() { curl -sf -o /dev/null --max-time 2 "$1"; }
# The PID in our pid file, only while it is alive and is the registry on this port.
our_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "-Dquarkus.http.port=$PORT " \
    && echo "$pid"
}

fetch() {
  [ -f "$DIST/.complete" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch Apicurio Registry $VERSION"
  say "fetching Apicurio Registry $VERSION into $CACHE (once)"
  mkdir -p "$CACHE"
  if ! mvn -B -q -f "$HERE/pom.xml" validate -Dapicurio.version="$VERSION" \
      -Dregistry.downloads="$CACHE/downloads" >"$CACHE/fetch.log" 2>&1; then
    tail -n 30 "$CACHE/fetch.log" >&2; die "Maven fetch failed (log: $CACHE/fetch.log)"
  fi
  local tgz="$CACHE/downloads/apicurio-registry-app-$VERSION-all.tar.gz"
  [ -f "$tgz" ] || die "Maven did not produce $tgz"
  rm -rf "$DIST.tmp" "$DIST"; mkdir -p "$DIST.tmp"
  tar -xzf "$tgz" -C "$DIST.tmp" --no-same-owner || die "cannot unpack $tgz"
  [ -f "$DIST.tmp/quarkus-run.jar" ] || ls "$DIST.tmp"/*-runner.jar >/dev/null 2>&1 \
    || die "no quarkus-run.jar or *-runner.jar in $tgz"
  mv "$DIST.tmp" "$DIST"; rm -f "$tgz"  # Maven keeps its own copy in ~/.m2
  touch "$DIST/.complete"
}

up() {
  if our_pid >/dev/null && http_ok "$URL/subjects"; then
    say "already up on 127.0.0.1:$PORT"; echo "$URL"; return 0
  fi
  command -v "$JAVA" >/dev/null || die "Java 17+ is needed to run the Schema Registry"
  command -v curl >/dev/null || die "curl is needed to check the Schema Registry"
  port_open "$PORT" && die "port $PORT is taken by another process; set SCHEMA_REGISTRY_PORT"
  fetch
  local jar
  if [ -f "$DIST/quarkus-run.jar" ]; then
    jar=quarkus-run.jar
    port_open "$MGMT_PORT" && die "management port $MGMT_PORT is taken; set SCHEMA_REGISTRY_PORT"
  else
    jar="$(cd "$DIST" && ls ./*-runner.jar | head -n1)"
  fi
  rm -rf "$STATE"; mkdir -p "$TMP"
  local opts=()
  read -r -a opts <<<"$JAVA_OPTS"
  opts+=(-Dquarkus.http.host=127.0.0.1 "-Dquarkus.http.port=$PORT"
         -Dquarkus.management.host=127.0.0.1 "-Dquarkus.management.port=$MGMT_PORT"
         "-Djava.io.tmpdir=$TMP" "-Dvertx.cacheDirBase=$TMP/vertx-cache")
  [ -n "$COMPAT" ] && opts+=("-Dapicurio.rules.global.compatibility=$COMPAT")
  local start=$SECONDS
  # exec: the recorded PID is java's own, not a subshell's
  ( cd "$DIST" && exec nohup "$JAVA" "${opts[@]}" -jar "$jar" ) >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  until http_ok "$URL/subjects"; do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 40 "$LOG" >&2; rm -f "$PIDFILE"; die "the registry exited during start-up (log: $LOG)"
    fi
    if ((SECONDS >= deadline)); then tail -n 40 "$LOG" >&2; down; die "no answer after ${START_TIMEOUT}s"; fi
    sleep 0.25
  done
  if [ -n "$COMPAT" ]; then
    # 3.0.x enforces the -D rule but reports NONE; a PUT stores it as the global rule on every version.
    curl -sf -o /dev/null --max-time 5 -X PUT -H 'Content-Type: application/json' \
      -d "{\"compatibility\": \"$COMPAT\"}" "$URL/config" || say "could not set global compatibility $COMPAT"
  fi
  say "Apicurio Registry $VERSION ready on 127.0.0.1:$PORT in $((SECONDS - start)) s (pid $(cat "$PIDFILE"), log $LOG)"
  echo "$URL"
}

down() {
  local pid; pid="$(our_pid || true)"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 80); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then say "no exit 20 s after SIGTERM; sending SIGKILL"; kill -KILL "$pid" || true; fi
    say "stopped pid $pid"
  elif port_open "$PORT"; then
    say "port $PORT answers but that registry was not started by this script; left alone"
  fi
  rm -rf "$STATE"
}

status() {
  if our_pid >/dev/null && http_ok "$URL/subjects"; then say "up on $URL"; else say "down on port $PORT"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  url) echo "$URL" ;;
  fetch) fetch ;;
  *) echo "usage: $0 up|down|status|url|fetch" >&2; exit 2 ;;
esac
