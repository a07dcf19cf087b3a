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

# ls_ensure_cmds "cmd:package" ... : installs the Debian package of each missing command.
ls_ensure_pkgs() {
  local missing=() spec
  for spec in "$@"; do
    case "$spec" in
      *:*) command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}") ;;
      *) dpkg -s "$spec" >/dev/null 2>&1 || missing+=("$spec") ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "lakestream: installing ${missing[*]} with apt-get" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } \
      >/tmp/lakestream-apt.log 2>&1; then
    echo "lakestream: could not install ${missing[*]} (see /tmp/lakestream-apt.log); install them and retry" >&2
    return 1
  fi
}
