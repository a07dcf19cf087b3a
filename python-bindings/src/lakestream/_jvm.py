"""Starts the JVM in this process (through JPype) with the Lakestream jars.

One JVM per process, started lazily by the first call that needs Java. The JDK is found the
way the launcher (scripts/jdk.sh) finds it: $JAVA_HOME if it is 22 or newer, else the newest
22+ JDK under /usr/lib/jvm. The jars (``lakestream-s3.jar`` + ``lib/*.jar``: the core, the S3
store, their dependencies and the native shim) come from, in order:

* ``LAKESTREAM_JAR_DIR``: a folder holding ``lakestream-s3.jar`` and ``lib/*.jar`` (what
  ``loader-java/s3/target`` holds after a build);
* ``LAKESTREAM_HOME``: a repository checkout (its ``loader-java/s3/target``, built with Maven
  when missing or older than the sources);
* the jars inside the installed package (``lakestream/jars/``, put there by ``pip wheel`` /
  ``pip install``): the default for an installed wheel, no Maven and no checkout needed;
* the checkout this module sits in (development from ``python-bindings/src``), built with Maven
  when missing or older than the sources, the same command the ``./lakestream`` launcher runs.
"""
from __future__ import annotations

import os
import threading

from . import _build
from ._errors import LakestreamError

JPYPE_JAR = "/usr/share/java/org.jpype.jar"
JAR_NAME = _build.JAR_NAME
MIN_JAVA = _build.MIN_JAVA
PACKAGED_JARS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jars")

_lock = threading.Lock()
_started_pid = None  # pid of the process that started the JVM (fork detection)
jar_origin = None  # where this process's class path came from, e.g. "packaged /.../lakestream/jars"


class JvmError(LakestreamError):
    """The JVM could not be found, built or started."""


def find_jdk():
    """Returns (java_home, libjvm path) of a JDK 22+, or raises JvmError."""
    try:
        return _build.find_jdk()
    except _build.BuildError as e:
        raise JvmError(str(e)) from None


def find_jars(java_home: str):
    """(class path, origin): lakestream-s3.jar and its lib/*.jar, from the first source in the module doc."""
    try:
        jar_dir = os.environ.get("LAKESTREAM_JAR_DIR")
        if jar_dir:
            jar_dir = os.path.abspath(jar_dir)
            if not os.path.isfile(os.path.join(jar_dir, JAR_NAME)):
                raise JvmError("lakestream: %s is missing (LAKESTREAM_JAR_DIR=%s should hold %s and lib/*.jar)"
                               % (os.path.join(jar_dir, JAR_NAME), jar_dir, JAR_NAME))
            return _build.class_path(jar_dir), "LAKESTREAM_JAR_DIR " + jar_dir
        home = os.environ.get("LAKESTREAM_HOME")
        if home:
            home = os.path.abspath(home)
            if not _build.is_checkout(home):
                raise JvmError("LAKESTREAM_HOME=%s is not a Lakestream checkout (no loader-java/pom.xml there)" % home)
            return _build.class_path(_build.build_jars(home, java_home)), "LAKESTREAM_HOME " + home
        if os.path.isfile(os.path.join(PACKAGED_JARS, JAR_NAME)):
            return _build.class_path(PACKAGED_JARS), "packaged " + PACKAGED_JARS
        repo = _build.checkout_above(__file__)
        if repo is not None:
            return _build.class_path(_build.build_jars(repo, java_home)), "checkout " + repo
    except _build.BuildError as e:
        raise JvmError(str(e)) from None
    raise JvmError("lakestream: cannot find the Java library: this installation carries no jars (%s is missing) and "
                   "is not inside a Lakestream checkout; install the wheel built by `pip wheel ./python-bindings`, or "
                   "set LAKESTREAM_JAR_DIR to a folder holding %s and lib/*.jar, or LAKESTREAM_HOME to a checkout"
                   % (os.path.join(PACKAGED_JARS, JAR_NAME), JAR_NAME))


# JVM options of every process that is not a producing host (a trainer, a tool) when lakestream
# starts its JVM there. The Java work of a rank is orchestration around native copies (file reads,
# CRC32C and LZ4 are intrinsics or native either way), so C1 code is fast enough, while C2's
# compiler threads took 1-2 ms CPU per step on the trainer's CPUs for the first minutes of a run
# (examples/colocated_vs_lakestream.py, thread table). LAKESTREAM_JAVA_OPTS overrides. Lower C1
# thresholds (-XX:CompileThresholdScaling=0.05) were tried and dropped: over a 300-step window
# they cut C1's CPU per step (1.0 -> 0.5 ms), but over the comparison's 100 steps after a 20-step
# warm-up they did not (2.0-2.35 ms of compiling per step against 1.7-3.5 without, three
# alternated runs each; C1 1.6 ms per step in a full comparison run).
TRAINER_JAVA_OPTS = ("-XX:TieredStopAtLevel=1",)


def ensure_jvm(default_opts=None):
    """Starts the JVM once per process; returns the jpype module.

    ``default_opts``: JVM options for this process's role (None: a trainer's,
    ``TRAINER_JAVA_OPTS``), used only if this call starts the JVM; ``LAKESTREAM_JAVA_OPTS`` comes
    after them (the last of a repeated -XX option wins)."""
    if default_opts is None:
        default_opts = TRAINER_JAVA_OPTS
    global _started_pid, jar_origin
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
        cp, origin = find_jars(java_home)
        # Debian's JPype needs its support jar on the class path explicitly (else
        # ClassNotFoundException: org.jpype.classloader.DynamicClassLoader); pip's JPype1 does not.
        extra = [JPYPE_JAR] if os.path.isfile(JPYPE_JAR) else []
        # Signals stay Python's, as in plain PyTorch: -Xrs keeps the JVM from installing its own
        # SIGINT/SIGTERM/SIGHUP handlers (which ran Java's shutdown and killed the process, and
        # replaced a handler the user had installed before the first batch); interrupt=False keeps
        # JPype from routing Ctrl-C into Java (which interrupted the waiting Java thread and
        # surfaced as a Java IllegalStateException). Waits on the Java side are short slices, so
        # Python runs its handlers (KeyboardInterrupt, a SIGTERM handler) between them.
        opts = ["--enable-native-access=ALL-UNNAMED", "-Xrs"] + list(default_opts)
        opts += os.environ.get("LAKESTREAM_JAVA_OPTS", "").split()
        try:
            jpype.startJVM(libjvm, *opts, classpath=cp + extra, convertStrings=False, interrupt=False)
        except Exception as e:  # noqa: BLE001 - report what JPype said
            raise JvmError("lakestream: starting the JVM at %s failed: %s" % (libjvm, e)) from e
        _started_pid = os.getpid()
        jar_origin = origin
    return jpype


def owns_jvm() -> bool:
    """False in a process forked from the one that started the JVM (Java must not be called there)."""
    return _started_pid is None or _started_pid == os.getpid()


def jclass(name: str):
    jp = ensure_jvm()
    return jp.JClass(name)
