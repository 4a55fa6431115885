#!/usr/bin/env bash
# A secured single-node Apache Kafka (KRaft) on 127.0.0.1, from the same Maven jars as local-kafka:
# SASL_SSL with SCRAM-SHA-512 and PLAIN, SSL with required client certificates, ACLs (StandardAuthorizer),
# a throwaway CA and certificates made with openssl. For tests and for trying secured settings locally.
#
#   secure-kafka.sh up       new CA, certificates and passwords, format, start, wait until ready
#                            (a no-op when this script's broker is already up on the port)
#   secure-kafka.sh down     SIGTERM (SIGKILL after SECURE_KAFKA_STOP_TIMEOUT s), then delete the state dir
#   secure-kafka.sh status   exit 0 when this script's broker is up
#   secure-kafka.sh settings print the client settings file (JSON: addresses, CA, users, certificates)
#
# Users and principals (every password is random per `up`; read them from the settings file):
#   admin                    SCRAM-SHA-512, super user (creates topics, users and ACLs)
#   SECURE_KAFKA_SCRAM_USERS SCRAM-SHA-512 users made at format time ("worker"); more can be added at run
#                            time with AdminClient.alter_user_scram_credentials
#   SECURE_KAFKA_PLAIN_USERS SASL/PLAIN users ("worker-plain"); PLAIN users live in the broker's JAAS line
#   SECURE_KAFKA_CLIENTS     client certificates signed by the CA ("worker-mtls no-acl"): CN=<name> is
#                            the principal User:<name>; the first also gets an encrypted copy of its key
#   untrusted                a client certificate from another CA, which the broker must refuse
# Nobody but admin has an ACL: grant them with AdminClient.create_acls.
#
# Environment:
#   SECURE_KAFKA_PORT        SASL_SSL port (KAFKA_PORT + 8, so 9100); SSL is port + 1, the controller port + 2
#   SECURE_KAFKA_STATE_DIR   certificates, data, log, pid and settings (<repo>/.local-kafka/secure-<port>)
#   KAFKA_JAR_CACHE          the jars (fetched by deploy/local-kafka/kafka.sh into ~/.cache/caliper-processor)
#   SECURE_KAFKA_HEAP_OPTS   JVM heap ("-Xms256m -Xmx512m")
#   SECURE_KAFKA_START_TIMEOUT / SECURE_KAFKA_STOP_TIMEOUT   seconds (120 / 30)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
LOCAL="$REPO/deploy/local-kafka"
SASL_PORT="${SECURE_KAFKA_PORT:-$((${KAFKA_PORT:-9092} + 8))}"
SSL_PORT=$((SASL_PORT + 1))
CPORT=$((SASL_PORT + 2))
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$LOCAL/pom.xml")"
CACHE="${KAFKA_JAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caliper-processor/kafka-$VERSION}"
STATE="${SECURE_KAFKA_STATE_DIR:-$REPO/.local-kafka/secure-$SASL_PORT}"
TLS="$STATE/tls"
DATA="$STATE/data"
CONF="$STATE/server.properties"
LOG="$STATE/broker.log"
PIDFILE="$STATE/broker.pid"
SETTINGS="$STATE/settings.json"
MARKER="$STATE/.secure-kafka"
HEAP="${SECURE_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${SECURE_KAFKA_START_TIMEOUT:-120}"
STOP_TIMEOUT="${SECURE_KAFKA_STOP_TIMEOUT:-30}"
SCRAM_USERS="${SECURE_KAFKA_SCRAM_USERS:-worker}"
PLAIN_USERS="${SECURE_KAFKA_PLAIN_USERS:-worker-plain}"
CLIENTS="${SECURE_KAFKA_CLIENTS:-worker-mtls no-acl}"
JAVA="${JAVA:-java}"
CERT_DAYS=2

say() { echo "secure-kafka: $*" >&2; }
die() { echo "secure-kafka: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Our broker: the pid file's process, alive and running kafka.Kafka with OUR config (not a recycled pid).
our_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $CONF" || return 1
  echo "$pid"
}
# Only a state dir this script made is ever deleted.
remove_state() {
  [ -e "$STATE" ] || return 0
  [ -f "$MARKER" ] || die "$STATE exists but was not made by secure-kafka.sh; not deleting it"
  rm -rf "$STATE"
}
cluster_id() {  # 16 random bytes, base64url without padding, not starting with '-' (Kafka's Uuid)
  local id
  while :; do
    id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}
password() { head -c18 /dev/urandom | base64 | tr '+/' 'xy' | tr -d '=\n'; }  # [A-Za-z0-9]: no quoting

# ---- certificates: EC P-256 keys as unencrypted PKCS#8, which Kafka's PEM store and librdkafka read --
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

sign() {  # sign NAME SUBJECT EXTFILE: $TLS/NAME.key -> $TLS/NAME.crt, signed by the CA
  openssl req -new -key "$TLS/$1.key" -subj "$2" -out "$TLS/$1.csr"
  openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days "$CERT_DAYS" -sha256 -extfile "$3" \
      -out "$TLS/$1.crt" 2>/dev/null
  rm -f "$TLS/$1.csr"
}

ca() {  # ca NAME CN: a self-signed CA certificate (own extension file, no system openssl.cnf needed)
  cat >"$TLS/$1.ext" <<EOF
[req]
distinguished_name = dn
x509_extensions = v3_ca
prompt = no
[dn]
CN = $2
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  newkey "$TLS/$1.key"
  openssl req -x509 -new -key "$TLS/$1.key" -config "$TLS/$1.ext" -days "$CERT_DAYS" -sha256 \
      -set_serial "0x$(openssl rand -hex 16)" -out "$TLS/$1.crt"
}

make_certs() {
  mkdir -p "$TLS"
  ca ca "caliper-processor test CA"
  ca other-ca "caliper-processor unrelated CA"   # a CA that did not sign the broker (wrong-CA tests)
  cat >"$TLS/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  newkey "$TLS/broker.key"
  sign broker "/O=caliper-test/CN=kafka-broker" "$TLS/server.ext"
  cat "$TLS/broker.key" "$TLS/broker.crt" "$TLS/ca.crt" >"$TLS/broker-keystore.pem"
  chmod 600 "$TLS/broker-keystore.pem"
  cat >"$TLS/client.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  local c
  for c in $CLIENTS; do
    newkey "$TLS/$c.key"
    sign "$c" "/O=caliper-test/CN=$c" "$TLS/client.ext"
  done
  # A client certificate the broker does not trust: self-signed, same CN as the first client.
  newkey "$TLS/untrusted.key"
  openssl req -x509 -new -key "$TLS/untrusted.key" -subj "/O=rogue/CN=${CLIENTS%% *}" -days "$CERT_DAYS" \
      -sha256 -addext "extendedKeyUsage=clientAuth" -out "$TLS/untrusted.crt"
  openssl verify -CAfile "$TLS/ca.crt" "$TLS/broker.crt" >/dev/null || die "broker certificate does not verify"
}

encrypt_key() {  # encrypt_key NAME PASSPHRASE: NAME.enc.key, PKCS#8 encrypted (ssl.key.password)
  openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$TLS/$1.key" -out "$TLS/$1.enc.key" -passout "pass:$2"
  chmod 600 "$TLS/$1.enc.key"
}

# ---- settings for clients: JSON, all values plain [A-Za-z0-9./:_-] ----------------------------------
json_users() {  # json_users "name:pw ...": {"name": "pw", ...}
  local first=1 u out="{"
  for u in $1; do
    ((first)) || out+=", "
    out+="\"${u%%:*}\": \"${u#*:}\""; first=0
  done
  echo "$out}"
}

write_settings() {  # write_settings ADMIN_PW "scram name:pw ..." "plain name:pw ..." KEY_PASSPHRASE
  local first_client="${CLIENTS%% *}" c clients="" sep=""
  for c in $CLIENTS; do
    clients+="$sep\"$c\": {\"cert\": \"$TLS/$c.crt\", \"key\": \"$TLS/$c.key\"}"; sep=", "
  done
  cat >"$SETTINGS" <<EOF
{
  "sasl_bootstrap": "127.0.0.1:$SASL_PORT",
  "ssl_bootstrap": "127.0.0.1:$SSL_PORT",
  "ca": "$TLS/ca.crt",
  "other_ca": "$TLS/other-ca.crt",
  "admin": {"user": "admin", "password": "$1"},
  "scram_users": $(json_users "$2"),
  "plain_users": $(json_users "$3"),
  "clients": {$clients},
  "encrypted_key": {"client": "$first_client", "key": "$TLS/$first_client.enc.key", "password": "$4"},
  "untrusted_client": {"cert": "$TLS/untrusted.crt", "key": "$TLS/untrusted.key"},
  "log": "$LOG",
  "pid": $(cat "$PIDFILE")
}
EOF
  chmod 600 "$SETTINGS"
}

up() {
  local pid; pid="$(our_pid || true)"
  if [ -n "$pid" ] && port_open "$SASL_PORT" && [ -f "$SETTINGS" ]; then
    say "already up (pid $pid); settings in $SETTINGS"; echo "$SETTINGS"; return 0
  fi
  command -v "$JAVA" >/dev/null || die "Java 17+ is needed to run the broker"
  command -v openssl >/dev/null || die "openssl is needed for the test certificates"
  local p
  for p in "$SASL_PORT" "$SSL_PORT" "$CPORT"; do
    port_open "$p" && die "port $p on 127.0.0.1 is taken; set SECURE_KAFKA_PORT (or KAFKA_PORT) to another port"
  done
  KAFKA_JAR_CACHE="$CACHE" "$LOCAL/kafka.sh" fetch >&2
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  remove_state; mkdir -p "$DATA"; chmod 700 "$STATE"; : >"$MARKER"
  local start=$SECONDS
  make_certs

  local admin_pw key_pw u scram="" plain="" jaas
  admin_pw="$(password)"; key_pw="$(password)"
  for u in $SCRAM_USERS; do scram+=" $u:$(password)"; done
  for u in $PLAIN_USERS; do plain+=" $u:$(password)"; done
  encrypt_key "${CLIENTS%% *}" "$key_pw"
  jaas="user_admin=\"$admin_pw\""
  for u in $plain; do jaas+=" user_${u%%:*}=\"${u#*:}\""; done
  sed -e "s|@DATA_DIR@|$DATA|g" -e "s|@TLS_DIR@|$TLS|g" -e "s|@SASL_PORT@|$SASL_PORT|g" \
      -e "s|@SSL_PORT@|$SSL_PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" \
      -e "s|@ADMIN_PASSWORD@|$admin_pw|g" -e "s|@PLAIN_USERS@|$jaas|g" "$HERE/server.properties" >"$CONF"
  chmod 600 "$CONF"

  # SCRAM credentials go into the metadata log at format time (kafka-storage format --add-scram).
  local args=(--add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pw]")
  for u in $scram; do args+=(--add-scram "SCRAM-SHA-512=[name=${u%%:*},password=${u#*:}]"); done
  "$JAVA" -Xmx256m -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOCAL/log4j2-tools.properties" \
      -cp "$CACHE/*" kafka.tools.StorageTool format -t "$(cluster_id)" -c "$CONF" "${args[@]}" \
      >"$STATE/format.log" 2>&1 || { cat "$STATE/format.log" >&2; die "formatting $DATA failed"; }
  # shellcheck disable=SC2086
  nohup "$JAVA" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOCAL/log4j2.properties" \
      -cp "$CACHE/*" kafka.Kafka "$CONF" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      tail -n 40 "$LOG" >&2; rm -f "$PIDFILE"; die "the broker exited during start-up (log: $LOG)"
    fi
    if grep -q "Kafka Server started" "$LOG" && port_open "$SASL_PORT" && port_open "$SSL_PORT"; then
      write_settings "$admin_pw" "$scram" "$plain" "$key_pw"
      say "ready in $((SECONDS - start)) s: SASL_SSL 127.0.0.1:$SASL_PORT, SSL (mTLS) 127.0.0.1:$SSL_PORT (pid $(cat "$PIDFILE"), log $LOG)"
      echo "$SETTINGS"; return 0
    fi
    sleep 0.2
  done
  tail -n 40 "$LOG" >&2; down; die "not ready after ${START_TIMEOUT}s"
}

down() {
  local pid; pid="$(our_pid || true)"
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "no exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    say "stopped broker pid $pid"
  elif port_open "$SASL_PORT"; then
    say "port $SASL_PORT answers but the broker there was not started by this script; left alone"
  fi
  remove_state
}

status() {
  local pid; pid="$(our_pid || true)"
  if [ -n "$pid" ] && port_open "$SASL_PORT"; then say "up on 127.0.0.1:$SASL_PORT (pid $pid)"
  else say "down on 127.0.0.1:$SASL_PORT"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  settings) cat "$SETTINGS" ;;
  *) echo "usage: $0 up|down|status|settings" >&2; exit 2 ;;
esac
