"""The ``lakestream`` command line from the Python package: ``lakestream inspect …`` (console
script) or ``python -m lakestream inspect …``, the same commands as the checkout's
``./lakestream`` launcher (inspect, gc, blame, find, checkpoint, close, control, consume,
produce, doctor, simulate, …).

It runs the Java CLI in a JVM of its own (not JPype): its exit codes, output and signals are the
CLI's. Jars come from the first of: ``LAKESTREAM_JAR_DIR`` (with a ``cli/`` folder),
``LAKESTREAM_HOME`` (a checkout, built when stale), the jars inside the package (``jars/`` and
``jars/cli/``, put there by ``pip wheel``), the checkout this module sits in. The wheel carries
the CLI jar and the few jars it needs beyond the library's (0.9 MB); not
``produce --tokenizer hf:`` (DJL's tokenizers, 19.7 MB) nor ``demo`` against the embedded S3
server (the test kit's s3proxy, ~60 MB): use the checkout's ``./lakestream`` for those.
"""
from __future__ import annotations

import os
import sys

from . import _build

PACKAGED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jars")


def class_path(java_home: str):
    """The CLI's class path: its jars first, then the library's (lakestream-s3.jar + lib/)."""
    jar_dir = os.environ.get("LAKESTREAM_JAR_DIR")
    if jar_dir:
        jar_dir = os.path.abspath(jar_dir)
        return _build.cli_jars(os.path.join(jar_dir, "cli")) + _build.class_path(jar_dir)
    home = os.environ.get("LAKESTREAM_HOME")
    repo = os.path.abspath(home) if home else None
    if repo is None and os.path.isfile(os.path.join(PACKAGED, "cli", _build.CLI_JAR_NAME)):
        return _build.cli_jars(os.path.join(PACKAGED, "cli")) + _build.class_path(PACKAGED)
    if repo is None:
        repo = _build.checkout_above(__file__)
    if repo is None or not _build.is_checkout(repo):
        raise _build.BuildError("lakestream: cannot find the command line's jars: this installation carries none (%s) "
                                "and is not inside a Lakestream checkout" % os.path.join(PACKAGED, "cli"))
    cli = _build.build_cli(repo, java_home)
    return _build.cli_jars(cli) + _build.class_path(_build.jar_dir_of(repo))


def main(argv=None):
    """Runs the CLI with ``argv`` (default: this process's arguments); does not return."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        java_home, _ = _build.find_jdk()
        cp = class_path(java_home)
    except _build.BuildError as e:
        print(str(e), file=sys.stderr)
        sys.exit(2)
    java = os.path.join(java_home, "bin", "java")
    cmd = [java, "--enable-native-access=ALL-UNNAMED"] + os.environ.get("LAKESTREAM_JAVA_OPTS", "").split()
    cmd += ["-cp", os.pathsep.join(cp), "io.lakestream.cli.Main"] + args
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(java, cmd)  # the CLI's exit code and signals, no Python in between


if __name__ == "__main__":
    main()
