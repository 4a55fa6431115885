#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, broker + controller in one JVM) on 127.0.0.1, from Maven jars.
#
#   kafka.sh up      fetch jars once, format a fresh data dir, start in background, wait until ready
#                    (a no-op when a broker already answers on the port)
#   kafka.sh down    SIGTERM, SIGKILL after KAFKA_STOP_TIMEOUT s, then delete the data dir
#   kafka.sh kill    SIGKILL the broker and keep its data dir (a crash, for fault tests)
#   kafka.sh start   start again on the existing data dir (after kill), wait until ready
#                    (a no-op when a broker already answers on the port)
#   kafka.sh status  exit 0 when a broker answers on the port
#   kafka.sh fetch   only fetch the jars
#
# Environment:
#   KAFKA_PORT              client port (9092); the controller listens on KAFKA_CONTROLLER_PORT (port + 1)
#   KAFKA_STATE_DIR         data dir, log and pid file (<repo>/.local-kafka/<port>)
#   KAFKA_JAR_CACHE         where Maven copies the jars (~/.cache/caliper-processor/kafka-<version>)
#   KAFKA_HEAP_OPTS         JVM heap ("-Xms256m -Xmx512m")
#   KAFKA_START_TIMEOUT     seconds to wait for readiness (120)
#   KAFKA_STOP_TIMEOUT      seconds to wait after SIGTERM (30)
#   KAFKA_EXTRA_PROPERTIES  a file appended to server.properties at `up` (a key set again there wins),
#                           e.g. a second listener that advertises a proxy's address
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
CACHE="${KAFKA_JAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caliper-processor/kafka-$VERSION}"
STATE="${KAFKA_STATE_DIR:-$REPO/.local-kafka/$PORT}"
DATA="$STATE/data"
CONF="$STATE/server.properties"
LOG="$STATE/broker.log"
PIDFILE="$STATE/broker.pid"
HEAP="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"

say() { echo "local-kafka: $*"; }
die() { echo "local-kafka: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
our_pid() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && cat "$PIDFILE"; }

fetch() {
  if ls "$CACHE"/kafka_2.13-"$VERSION".jar >/dev/null 2>&1; then return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch Kafka $VERSION"
  say "fetching Kafka $VERSION jars into $CACHE"
  mkdir -p "$CACHE.tmp"
  mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$CACHE.tmp"
  rm -rf "$CACHE"; mv "$CACHE.tmp" "$CACHE"
  ls "$CACHE"/kafka_2.13-"$VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$VERSION.jar missing in $CACHE"
}

cluster_id() {  # 16 random bytes, base64url without padding, not starting with '-' (Kafka's Uuid)
  local id
  while :; do
    id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

up() {
  if port_open "$PORT"; then
    say "a broker is already up on 127.0.0.1:$PORT; nothing to do"
    echo "127.0.0.1:$PORT"; return 0
  fi
  command -v "$JAVA" >/dev/null || die "Java 17+ is needed to run the local broker"
  port_open "$CPORT" && die "controller port $CPORT is taken; set KAFKA_PORT to another port"
  fetch
  local old; old="$(our_pid || true)"; [ -n "$old" ] && kill -KILL "$old" 2>/dev/null || true
  rm -rf "$STATE"; mkdir -p "$DATA"
  sed -e "s|@DATA_DIR@|$DATA|g" -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" \
      "$HERE/server.properties" > "$CONF"
  if [ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]; then
    [ -f "$KAFKA_EXTRA_PROPERTIES" ] || die "KAFKA_EXTRA_PROPERTIES: no such file $KAFKA_EXTRA_PROPERTIES"
    { echo; echo "# from $KAFKA_EXTRA_PROPERTIES"; cat "$KAFKA_EXTRA_PROPERTIES"; } >> "$CONF"
  fi
  START=$SECONDS
  "$JAVA" -Xmx256m -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$HERE/log4j2-tools.properties" \
      -cp "$CACHE/*" kafka.tools.StorageTool format -t "$(cluster_id)" -c "$CONF" >"$STATE/format.log" 2>&1 \
      || { cat "$STATE/format.log" >&2; die "formatting $DATA failed"; }
  launch
}

start() {  # the data dir of an earlier `up`, as a crash (`kill`) left it: the broker recovers its logs
  if port_open "$PORT"; then
    say "a broker is already up on 127.0.0.1:$PORT; nothing to do"
    echo "127.0.0.1:$PORT"; return 0
  fi
  [ -f "$CONF" ] && [ -f "$DATA/meta.properties" ] || die "no formatted data dir in $STATE; use up"
  command -v "$JAVA" >/dev/null || die "Java 17+ is needed to run the local broker"
  port_open "$CPORT" && die "controller port $CPORT is taken; set KAFKA_PORT to another port"
  fetch
  local old; old="$(our_pid || true)"; [ -n "$old" ] && die "broker pid $old is still running; kill or down it"
  START=$SECONDS
  [ -f "$LOG" ] && mv "$LOG" "$LOG.$(date +%s)"  # keep the log of the run that was killed
  launch keep
}

launch() {  # start the JVM on $CONF in the background and wait until it serves clients
  # shellcheck disable=SC2086
  nohup "$JAVA" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
      -cp "$CACHE/*" kafka.Kafka "$CONF" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 40 "$LOG" >&2; rm -f "$PIDFILE"; die "the broker exited during start-up (log: $LOG)"
    fi
    if port_open "$PORT" && grep -q "Kafka Server started" "$LOG"; then
      say "ready on 127.0.0.1:$PORT in $((SECONDS - START)) s (pid $(cat "$PIDFILE"), log $LOG)"
      echo "127.0.0.1:$PORT"; return 0
    fi
    sleep 0.3
  done
  tail -n 40 "$LOG" >&2
  if [ "${1:-}" = keep ]; then kill9; else down; fi  # start keeps the data it was given
  die "not ready after ${START_TIMEOUT}s"
}

kill9() {  # a crash: no controlled shutdown, the data dir stays as the process left it
  local pid; pid="$(our_pid || true)"
  if [ -z "$pid" ]; then
    port_open "$PORT" && die "port $PORT answers but the broker there was not started by this script"
    say "no broker of ours is running on port $PORT"; return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PIDFILE"
  say "killed broker pid $pid (SIGKILL); data kept in $DATA"
}

down() {
  local pid; pid="$(our_pid || true)"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.3; done
    if kill -0 "$pid" 2>/dev/null; then
      say "no exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    say "stopped broker pid $pid"
  elif port_open "$PORT"; then
    say "port $PORT answers but the broker there was not started by this script; left alone"
  fi
  rm -rf "$STATE"
}

status() {
  if port_open "$PORT"; then say "up on 127.0.0.1:$PORT"; else say "down on 127.0.0.1:$PORT"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) kill9 ;;
  start) start ;;
  status) status ;;
  fetch) fetch ;;
  *) echo "usage: $0 up|down|kill|start|status|fetch" >&2; exit 2 ;;
esac
