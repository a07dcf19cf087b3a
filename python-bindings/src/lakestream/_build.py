"""Finding a JDK and (in a repository checkout) building the Java library with Maven.

Standard library only and no package-relative imports: ``setup.py`` loads this file by path to
put the jars into the wheel, and ``_jvm`` uses it at run time (development from a checkout).
Failures raise :class:`BuildError` with a message saying what to do.
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

MIN_JAVA = 22
JAR_NAME = "lakestream-s3.jar"
# What `pip wheel` packs and what LAKESTREAM_JAR_DIR must hold: lakestream-s3.jar + lib/*.jar.
MAVEN_ARGS = ["-q", "-B", "-DskipTests", "package", "-pl", "loader-java/s3", "-am"]


class BuildError(Exception):
    """No JDK, no Maven, or the Maven build failed."""


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
    """(java_home, libjvm path) of a JDK 22+: $JAVA_HOME if new enough, else the newest under /usr/lib/jvm."""
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
    raise BuildError("lakestream: no JDK %d or newer found (looked at JAVA_HOME=%r and /usr/lib/jvm/*); install one, "
                     "e.g. Temurin 25, and set JAVA_HOME to it" % (MIN_JAVA, os.environ.get("JAVA_HOME", "")))


def is_checkout(d: str) -> bool:
    return os.path.isfile(os.path.join(d, "loader-java", "pom.xml")) and os.path.isfile(os.path.join(d, "pom.xml"))


def checkout_above(path: str):
    """The repository checkout containing ``path``, or None."""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if is_checkout(d):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def jar_dir_of(repo: str) -> str:
    return os.path.join(repo, "loader-java", "s3", "target")


def stale(repo: str) -> bool:
    """True when the checkout's jar is missing or older than a pom or a main source of what it carries."""
    jar = os.path.join(jar_dir_of(repo), JAR_NAME)
    if not os.path.isfile(jar) or not os.path.isdir(os.path.join(jar_dir_of(repo), "lib")):
        return True
    t = os.path.getmtime(jar)
    for p in (os.path.join(repo, "pom.xml"), os.path.join(repo, "loader-java", "pom.xml")):
        if os.path.getmtime(p) > t:
            return True
    for module in ("loader-java/core", "loader-java/s3", "native-shims"):
        pom = os.path.join(repo, module, "pom.xml")
        if os.path.isfile(pom) and os.path.getmtime(pom) > t:
            return True
        for dirpath, _, files in os.walk(os.path.join(repo, module, "src", "main")):
            for f in files:
                if os.path.getmtime(os.path.join(dirpath, f)) > t:
                    return True
    return False


def build_jars(repo: str, java_home: str, force: bool = False) -> str:
    """Builds the checkout's jars with Maven if missing or stale; returns the jar folder."""
    jar_dir = jar_dir_of(repo)
    lockpath = os.path.join(tempfile.gettempdir(),
                            "lakestream-build-%s.lock" % hashlib.sha1(repo.encode()).hexdigest()[:12])
    import fcntl
    with open(lockpath, "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)  # one build at a time (tests, DataLoader workers, pip)
        if not force and not stale(repo):
            return jar_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BuildError("lakestream: the Java library in %s is not built or older than its sources, and Maven "
                             "(mvn) is not installed to build it: apt-get install -y maven, or set LAKESTREAM_JAR_DIR "
                             "to a folder holding %s and lib/*.jar" % (repo, JAR_NAME))
        log = os.path.join(repo, ".build.log")
        print("lakestream: building the Java library (first use or sources changed): mvn %s in %s ..."
              % (" ".join(MAVEN_ARGS), repo), file=sys.stderr, flush=True)
        env = dict(os.environ, JAVA_HOME=java_home)
        with open(log, "w") as out:
            rc = subprocess.run([mvn] + MAVEN_ARGS, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        if rc != 0 or not os.path.isfile(os.path.join(jar_dir, JAR_NAME)):
            with open(log, errors="replace") as f:
                tail = "".join(f.readlines()[-20:])
            raise BuildError("lakestream: building the Java library failed (exit %d); see %s:\n%s" % (rc, log, tail))
    return jar_dir


def class_path(jar_dir: str):
    """[lakestream-s3.jar, lib/*.jar...] of a jar folder; BuildError naming the folder if the jar is missing."""
    jar = os.path.join(jar_dir, JAR_NAME)
    if not os.path.isfile(jar):
        raise BuildError("lakestream: %s is missing (the folder should hold %s and lib/*.jar)" % (jar, JAR_NAME))
    return [jar] + sorted(glob.glob(os.path.join(jar_dir, "lib", "*.jar")))


# The command line (`lakestream` console script, `python -m lakestream`): the CLI jar and the few
# jars it needs beyond the library's. Not carried: the HF tokenizer (DJL api + tokenizers, 19.7 MB
# of the CLI's 101 MB lib/, for `produce --tokenizer hf:`) and the embedded S3 server of the test
# kit (s3proxy, jclouds: ~60 MB, for `demo` on s3); those need the checkout's ./lakestream.
CLI_JAR_NAME = "lakestream-cli.jar"
CLI_LIB_PREFIXES = ("picocli-", "progressbar-", "jline-terminal-", "jline-native-", "slf4j-nop-", "lakestream-testkit-")
CLI_MAVEN_ARGS = ["-q", "-B", "-DskipTests", "package", "-pl", "loader-java/cli", "-am"]


def cli_dir_of(repo: str) -> str:
    return os.path.join(repo, "loader-java", "cli", "target")


def cli_jars(cli_dir: str):
    """[lakestream-cli.jar, the carried lib/*.jar...] of a CLI build or packaged folder."""
    jar = os.path.join(cli_dir, CLI_JAR_NAME)
    if not os.path.isfile(jar):
        raise BuildError("lakestream: %s is missing (the folder should hold %s and lib/*.jar)" % (jar, CLI_JAR_NAME))
    libs = [j for j in sorted(glob.glob(os.path.join(cli_dir, "lib", "*.jar")))
            if os.path.basename(j).startswith(CLI_LIB_PREFIXES)]
    return [jar] + libs


def build_cli(repo: str, java_home: str) -> str:
    """Builds the checkout's CLI (and the library under it) when missing or stale; returns its folder."""
    cli = cli_dir_of(repo)
    jar = os.path.join(cli, CLI_JAR_NAME)
    fresh = os.path.isfile(jar) and not stale(repo) and os.path.getmtime(jar) >= max(
        (os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(repo, "loader-java", "cli", "src", "main"))
         for f in fs), default=0)
    if fresh:
        return cli
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BuildError("lakestream: the command line in %s is not built or older than its sources, and Maven (mvn) "
                         "is not installed to build it" % repo)
    print("lakestream: building the command line: mvn %s in %s ..." % (" ".join(CLI_MAVEN_ARGS), repo),
          file=sys.stderr, flush=True)
    log = os.path.join(repo, ".build.log")
    with open(log, "w") as out:
        rc = subprocess.run([mvn] + CLI_MAVEN_ARGS, cwd=repo, env=dict(os.environ, JAVA_HOME=java_home), stdout=out,
                            stderr=subprocess.STDOUT).returncode
    if rc != 0 or not os.path.isfile(jar):
        raise BuildError("lakestream: building the command line failed (exit %d); see %s" % (rc, log))
    return cli
