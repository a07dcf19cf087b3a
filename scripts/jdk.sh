# Sourced by the launcher and the test script: finds a JDK 22+ and exports JAVA_HOME.
# Order: $JAVA_HOME if new enough, then every JDK under /usr/lib/jvm (newest first).

_ls_java_major() { # prints the feature version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

ls_find_jdk() {
  local cand v
  for cand in "${JAVA_HOME:-}" $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    cand="${cand%/}"
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] && [ -x "$cand/bin/javac" ] || continue
    v="$(_ls_java_major "$cand/bin/java")"
    case "$v" in ''|*[!0-9]*) continue ;; esac
    if [ "$v" -ge 22 ]; then
      export JAVA_HOME="$cand"
      return 0
    fi
  done
  echo "lakestream: no JDK 22 or newer found (looked at JAVA_HOME='${JAVA_HOME:-}' and /usr/lib/jvm/*)." >&2
  echo "lakestream: install one, e.g. Temurin 25, and set JAVA_HOME to it." >&2
  return 1
}
