#!/usr/bin/env bash
# Install the standalone kustomize (from the Go module proxy) into .cache/bin when the machine has
# neither kubectl (whose `kubectl kustomize` renders the components) nor kustomize; prints its path.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${KUSTOMIZE_VERSION:-v5.7.1}"
BIN="$REPO/.cache/bin"
if command -v kubectl >/dev/null 2>&1; then command -v kubectl; exit 0; fi
if command -v kustomize >/dev/null 2>&1; then command -v kustomize; exit 0; fi
if [[ -x "$BIN/kustomize" ]]; then echo "$BIN/kustomize"; exit 0; fi
command -v go >/dev/null 2>&1 || { echo "kustomize.sh: needs go to install kustomize" >&2; exit 1; }
mkdir -p "$BIN"
GOBIN="$BIN" GOFLAGS=-mod=mod go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
echo "$BIN/kustomize"
