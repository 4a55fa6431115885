#!/usr/bin/env bash
# Checks of the deployment files that need no Docker engine and no Kubernetes cluster:
#   promtool check/test of the alert rules, promtool check of the compose Prometheus config, and the
#   offline tests of tests/deploy (Compose schema, Kubernetes schemas, Dockerfile structure, dashboard
#   and rules against the worker's metric names). The test against a running worker needs a broker and
#   runs with the rest of the suite (`make test`).
# promtool comes from Debian's `prometheus` package; in CI (CI=true) its absence is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

if command -v promtool >/dev/null 2>&1; then
    promtool check rules deploy/prometheus/rules/*.yaml
    promtool test rules deploy/prometheus/tests/*.yaml
    promtool check config --syntax-only deploy/compose/prometheus.yml
elif [[ "${CI:-}" == "true" ]]; then
    echo "promtool is missing: apt-get install -y --no-install-recommends prometheus" >&2
    exit 1
else
    echo "promtool not installed: skipping the rule checks (apt-get install -y --no-install-recommends prometheus)" >&2
fi

"$BIN/pytest" tests/deploy -q -m "not kafka" -p no:cacheprovider
