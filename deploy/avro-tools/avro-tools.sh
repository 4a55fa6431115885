#!/usr/bin/env bash
# Apache Avro's avro-tools jar, fetched once from Maven Central, run with the given arguments.
#
#   avro-tools.sh tojson FILE.avro     one JSON record per line (Avro's own JSON encoding)
#   avro-tools.sh getschema FILE.avro
#   avro-tools.sh jar                  print the path of the jar (fetching it first)
#
# Environment: AVRO_TOOLS_CACHE (~/.cache/caliper-processor/avro-tools), JAVA (java).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="$(sed -n 's:.*<avro.version>\(.*\)</avro.version>.*:\1:p' "$HERE/pom.xml")"
CACHE="${AVRO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caliper-processor/avro-tools}"
JAR="$CACHE/avro-tools-$VERSION.jar"
JAVA="${JAVA:-java}"

if [ ! -f "$JAR" ]; then
  command -v mvn >/dev/null || { echo "avro-tools: Maven (mvn) is needed once to fetch avro-tools $VERSION" >&2; exit 1; }
  echo "avro-tools: fetching avro-tools $VERSION into $CACHE (once)" >&2
  mkdir -p "$CACHE"
  # --strict-checksums: a jar whose checksum does not match Maven Central's is refused, not warned about
  mvn -B -q --strict-checksums -f "$HERE/pom.xml" validate -Davro.tools.dir="$CACHE" >"$CACHE/fetch.log" 2>&1 \
    || { tail -n 30 "$CACHE/fetch.log" >&2; echo "avro-tools: Maven fetch failed" >&2; exit 1; }
  [ -f "$JAR" ] || { echo "avro-tools: $JAR missing after the fetch" >&2; exit 1; }
fi
if [ "${1:-}" = jar ]; then echo "$JAR"; exit 0; fi
# log4j/slf4j chatter goes to stderr; stdout carries only the tool's output
exec "$JAVA" -Xmx256m -Djava.awt.headless=true -jar "$JAR" "$@"
