#!/usr/bin/env bash
# Runs the data-path JMH benchmarks and writes JSON plus a markdown table under
# jmh-benchmarks/results/. Builds target/benchmarks.jar first if it is missing or stale.
#
#   ./jmh-benchmarks/run.sh --short   # ~5 min on 2 cores: 1 fork, 2x1 s warm-up, 3x1 s measured (smoke, not for quoting)
#   ./jmh-benchmarks/run.sh --full    # the README's figures: 5 forks x 10x1 s measured (3x1 s warm-up each), ~50 min
#   ./jmh-benchmarks/run.sh --short StepRead -p shardBytes=262144   # extra args go to JMH
#
# Every run uses -prof gc (allocation per operation, B/op); the tables print mean ± JMH's 99.9 %
# confidence interval. ReaderNextBenchmark starts the embedded S3 server as its own process.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$ROOT/scripts/jdk.sh"
ls_find_jdk

mode=short
case "${1:-}" in
  --short) shift ;;
  --full) mode=full; shift ;;
  -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
esac
case "$mode" in
  short) opts=(-f 1 -wi 2 -w 1s -i 3 -r 1s) ;;
  full) opts=(-f 5 -wi 3 -w 1s -i 10 -r 1s) ;;
esac

JAR="$HERE/target/benchmarks.jar"
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/pom.xml" "$ROOT/native-shims/src" "$ROOT/loader-java/core/src/main" "$ROOT/loader-java/s3/src/main" "$ROOT/loader-java/testkit/src/main" "$HERE/src" "$HERE/pom.xml" \
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
