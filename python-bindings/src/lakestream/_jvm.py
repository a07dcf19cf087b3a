"""Starts the JVM in this process (through JPype) with the Lakestream jars.

One JVM per process, started lazily by the first call that needs Java. The JDK is found the
way the launcher (scripts/jdk.sh) finds it: $JAVA_HOME if it is 22 or newer, else the newest
22+ JDK under /usr/lib/jvm. The jars are found through, in order:

* ``LAKESTREAM_JAR_DIR``: a folder holding ``lakestream-s3.jar`` and ``lib/*.jar``
  (what ``loader-java/s3/target`` holds after a build: the core, the S3 store and their
  dependencies);
* ``LAKESTREAM_HOME``: a repository checkout (its ``loader-java/s3/target`` is used);
* the checkout this package was installed from (recorded at install time), else one found by
  searching upward from this file.

With a checkout and no jar (or sources newer than the jar), the jar is built with Maven, the
same command the ``./lakestream`` launcher runs.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

from ._errors import LakestreamError

JPYPE_JAR = "/usr/share/java/org.jpype.jar"
JAR_NAME = "lakestream-s3.jar"
MIN_JAVA = 22

_lock = threading.Lock()
_started_pid = None  # pid of the process that started the JVM (fork detection)


class JvmError(LakestreamError):
    """The JVM could not be found, built or started."""


def _java_major(home: str):
    release = os.path.join(home, "release")
    try:
        with open(release, encoding="utf-8") as f:
            for line in f:
                if line.startswith("JAVA_VERSION="):
                    v = line.split("=", 1)[1].strip().strip('"')
                    m = re.match(r"(\d+)(?:\.(\d+))?", v)
                    if m:
                        major = int(m.group(1))
                        return int(m.group(2)) if major == 1 and m.group(2) else major
    except OSError:
        pass
    java = os.path.join(home, "bin", "java")
    try:
        out = subprocess.run([java, "-XshowSettings:properties", "-version"], capture_output=True, text=True,
                             timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"java\.specification\.version = (\d+)", out)
    return int(m.group(1)) if m else None


def _libjvm(home: str):
    for rel in ("lib/server/libjvm.so", "jre/lib/amd64/server/libjvm.so", "lib/server/libjvm.dylib"):
        p = os.path.join(home, rel)
        if os.path.isfile(p):
            return p
    return None


def _version_key(path: str):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", os.path.basename(path.rstrip("/")))]


def find_jdk():
    """Returns (java_home, libjvm path) of a JDK 22+, or raises JvmError."""
    cands = []
    if os.environ.get("JAVA_HOME"):
        cands.append(os.environ["JAVA_HOME"])
    cands += sorted(glob.glob("/usr/lib/jvm/*/"), key=_version_key, reverse=True)
    for c in cands:
        c = c.rstrip("/")
        if not os.path.isfile(os.path.join(c, "bin", "java")):
            continue
        lib = _libjvm(c)
        v = _java_major(c)
        if lib and v is not None and v >= MIN_JAVA:
            return c, lib
    raise JvmError("lakestream: no JDK %d or newer found (looked at JAVA_HOME=%r and /usr/lib/jvm/*); install one, "
                   "e.g. Temurin 25, and set JAVA_HOME to it" % (MIN_JAVA, os.environ.get("JAVA_HOME", "")))


def _is_repo(d: str) -> bool:
    return os.path.isfile(os.path.join(d, "loader-java", "pom.xml")) and os.path.isfile(os.path.join(d, "pom.xml"))


def find_repo():
    """The repository checkout to take (or build) the jars from, or None."""
    if os.environ.get("LAKESTREAM_HOME"):
        home = os.path.abspath(os.environ["LAKESTREAM_HOME"])
        if not _is_repo(home):
            raise JvmError("LAKESTREAM_HOME=%s is not a Lakestream checkout (no loader-java/pom.xml there)" % home)
        return home
    try:
        from . import _build_info  # written by setup.py at install time
        root = getattr(_build_info, "REPO_ROOT", None)
        if root and _is_repo(root):
            return root
    except ImportError:
        pass
    d = os.path.dirname(os.path.abspath(__file__))
    while True:
        if _is_repo(d):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _stale(repo: str, jar: str) -> bool:
    if not os.path.isfile(jar):
        return True
    t = os.path.getmtime(jar)
    for p in (os.path.join(repo, "pom.xml"), os.path.join(repo, "loader-java", "pom.xml")):
        if os.path.getmtime(p) > t:
            return True
    for module in ("core", "s3"):
        if os.path.getmtime(os.path.join(repo, "loader-java", module, "pom.xml")) > t:
            return True
        for dirpath, _, files in os.walk(os.path.join(repo, "loader-java", module, "src", "main")):
            for f in files:
                if os.path.getmtime(os.path.join(dirpath, f)) > t:
                    return True
    return False


def build_jar(repo: str, java_home: str, force: bool = False) -> None:
    """Builds loader-java/s3/target/lakestream-s3.jar (and lib/) with Maven if it is missing or stale."""
    jar = os.path.join(repo, "loader-java", "s3", "target", JAR_NAME)
    lockpath = os.path.join(tempfile.gettempdir(),
                            "lakestream-build-%s.lock" % hashlib.sha1(repo.encode()).hexdigest()[:12])
    import fcntl
    with open(lockpath, "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)  # one build at a time (tests, DataLoader workers)
        if not force and not _stale(repo, jar):
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise JvmError("lakestream: the Java library is not built (%s is missing) and Maven (mvn) is not installed "
                           "to build it: apt-get install -y maven, or set LAKESTREAM_JAR_DIR to a folder holding "
                           "lakestream-s3.jar and lib/" % jar)
        log = os.path.join(repo, ".build.log")
        print("lakestream: building the Java library (first use or sources changed): mvn -q -B -DskipTests package "
              "-pl loader-java/s3 -am in %s ..." % repo, file=sys.stderr, flush=True)
        env = dict(os.environ, JAVA_HOME=java_home)
        with open(log, "w") as out:
            rc = subprocess.run([mvn, "-q", "-B", "-DskipTests", "package", "-pl", "loader-java/s3", "-am"], cwd=repo,
                                env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        if rc != 0 or not os.path.isfile(jar):
            with open(log, errors="replace") as f:
                tail = "".join(f.readlines()[-20:])
            raise JvmError("lakestream: building the Java library failed (exit %d); see %s:\n%s" % (rc, log, tail))


def find_jars(java_home: str):
    """The class path: lakestream-s3.jar and its lib/*.jar (lakestream-core among them)."""
    jar_dir = os.environ.get("LAKESTREAM_JAR_DIR")
    if jar_dir:
        jar_dir = os.path.abspath(jar_dir)
    else:
        repo = find_repo()
        if repo is None:
            raise JvmError("lakestream: cannot find the Java library: set LAKESTREAM_JAR_DIR to a folder holding "
                           "lakestream-s3.jar and lib/*.jar, or LAKESTREAM_HOME to a Lakestream checkout")
        build_jar(repo, java_home)
        jar_dir = os.path.join(repo, "loader-java", "s3", "target")
    jar = os.path.join(jar_dir, JAR_NAME)
    if not os.path.isfile(jar):
        raise JvmError("lakestream: %s is missing (LAKESTREAM_JAR_DIR=%s should hold lakestream-s3.jar and lib/)"
                       % (jar, jar_dir))
    return [jar] + sorted(glob.glob(os.path.join(jar_dir, "lib", "*.jar")))


def ensure_jvm():
    """Starts the JVM once per process; returns the jpype module."""
    global _started_pid
    import jpype
    if jpype.isJVMStarted():
        if _started_pid is not None and _started_pid != os.getpid():
            raise JvmError(
                "lakestream: this process was forked from one whose JVM was already running (pid %d); a JVM does not "
                "survive fork(). With a torch DataLoader and num_workers > 0, pass multiprocessing_context='spawn' "
                "(or 'forkserver'), or do not use lakestream in the parent before the workers start" % _started_pid)
        return jpype
    with _lock:
        if jpype.isJVMStarted():
            return jpype
        java_home, libjvm = find_jdk()
        cp = find_jars(java_home)
        # Debian's JPype needs its support jar on the class path explicitly (else
        # ClassNotFoundException: org.jpype.classloader.DynamicClassLoader); pip's JPype1 does not.
        extra = [JPYPE_JAR] if os.path.isfile(JPYPE_JAR) else []
        opts = ["--enable-native-access=ALL-UNNAMED"]
        opts += os.environ.get("LAKESTREAM_JAVA_OPTS", "").split()
        try:
            jpype.startJVM(libjvm, *opts, classpath=cp + extra, convertStrings=False)
        except Exception as e:  # noqa: BLE001 - report what JPype said
            raise JvmError("lakestream: starting the JVM at %s failed: %s" % (libjvm, e)) from e
        _started_pid = os.getpid()
    return jpype


def owns_jvm() -> bool:
    """False in a process forked from the one that started the JVM (Java must not be called there)."""
    return _started_pid is None or _started_pid == os.getpid()


def jclass(name: str):
    jp = ensure_jvm()
    return jp.JClass(name)
