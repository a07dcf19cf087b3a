#!/usr/bin/env bash
# Runs the data-path JMH benchmarks and writes JSON plus a markdown table under
# jmh-benchmarks/results/. Builds target/benchmarks.jar first if it is missing or stale.
#
#   ./jmh-benchmarks/run.sh --short   # ~4 min on 2 cores: 1 fork, 2x1 s warm-up, 3x1 s measured
#   ./jmh-benchmarks/run.sh --full    # 2 forks, 5x2 s warm-up, 10x2 s measured (~25 min)
#   ./jmh-benchmarks/run.sh --short StepRead -p shardBytes=262144   # extra args go to JMH
#
# Every run uses -prof gc (allocation per operation, B/op).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$ROOT/scripts/jdk.sh"
ls_find_jdk

mode=short
case "${1:-}" in
  --short) shift ;;
  --full) mode=full; shift ;;
  -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
esac
case "$mode" in
  short) opts=(-f 1 -wi 2 -w 1s -i 3 -r 1s) ;;
  full) opts=(-f 2 -wi 5 -w 2s -i 10 -r 2s) ;;
esac

JAR="$HERE/target/benchmarks.jar"
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/pom.xml" "$ROOT/native-shims/src" "$ROOT/loader-java/core/src/main" "$ROOT/loader-java/s3/src/main" "$HERE/src" "$HERE/pom.xml" \
      -newer "$JAR" -print -quit 2>/dev/null)" ]; then
  echo "run.sh: building benchmarks.jar..." >&2
  (cd "$ROOT" && mvn -q -B -DskipTests package -pl jmh-benchmarks -am) >&2
fi

mkdir -p "$HERE/results"
json="$HERE/results/jmh-$mode.json"
md="$HERE/results/jmh-$mode.md"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$JAR" "${opts[@]}" -prof gc -rf json -rff "$json" "$@" \
  | tee "$HERE/target/jmh-$mode.log"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$JAR" io.lakestream.bench.Report "$json" "$md" "$mode"
echo "run.sh: wrote $json and $md" >&2
