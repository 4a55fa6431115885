#!/usr/bin/env bash
# Makes what metrics-tls.yaml mounts: a throwaway CA, a certificate for the worker (DNS name
# `worker`, the name Prometheus checks), its key, and the scrape password, in ./metrics-tls/.
# For the demo only: in production the certificate comes from your CA (or cert-manager).
#
#   deploy/compose/metrics-tls.sh            # once; again to replace everything
#   docker compose -f deploy/compose/compose.yaml -f deploy/compose/metrics-tls.yaml up --build -d
#
# Compose mounts file secrets as they are on the host, and the worker runs as uid 10001: the files
# are made readable by all local users (0644). Keep the directory on a machine you trust.
set -euo pipefail

out="${1:-$(cd "$(dirname "$0")" && pwd)/metrics-tls}"
days="${METRICS_TLS_DAYS:-30}"
mkdir -p "$out"
cd "$out"
rm -f ca.crt ca.key worker.crt worker.key worker.csr password ca.srl

openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout ca.key -out ca.crt -days "$days" -subj "/CN=caliper-processor metrics demo CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout worker.key -out worker.csr -subj "/CN=worker" 2>/dev/null
openssl x509 -req -in worker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out worker.crt -days "$days" \
  -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:worker,DNS:localhost,IP:127.0.0.1") 2>/dev/null
# 24 random bytes, base64: no newline inside, no ':' (the password may not matter, the user name may)
openssl rand -base64 24 > password
rm -f worker.csr ca.srl
chmod 0644 ca.crt worker.crt worker.key password
chmod 0600 ca.key
echo "metrics-tls: CA, worker certificate and scrape password written to $out"
