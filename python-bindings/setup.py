"""Build hook: puts the Java library's jars into the package (``lakestream/jars/``).

The wheel carries what the package runs in-process, plus the command line (``jars/cli/``: the
CLI jar and the few jars it needs beyond the library's, for the ``lakestream`` console script).
In-process it needs (pyspark ships its jars the same way):
``lakestream-s3.jar`` and ``lib/*.jar`` = lakestream-core, lakestream-s3, their runtime
dependencies and the native shim jar, i.e. ``loader-java/s3/target`` after
``mvn -q -B -DskipTests package -pl loader-java/s3 -am``. An installed wheel therefore needs
neither a checkout nor Maven, and a wheel copied to another machine works (with a JDK 22+).

Where the jars come from at build time:
* ``LAKESTREAM_JAR_DIR`` if set (a folder with ``lakestream-s3.jar`` and ``lib/``);
* else the checkout this ``python-bindings/`` sits in: its jars are built with Maven first when
  missing or older than the sources (the same command the ``./lakestream`` launcher runs);
* else (a copy of python-bindings/ outside a checkout, no LAKESTREAM_JAR_DIR) the build fails
  and says so.
"""
import importlib.util
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _build_module():
    # By path: importing the package would need its run-time dependencies (numpy, JPype).
    spec = importlib.util.spec_from_file_location("_lakestream_build", os.path.join(HERE, "src", "lakestream", "_build.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _jar_dir(b):
    env = os.environ.get("LAKESTREAM_JAR_DIR")
    if env:
        return os.path.abspath(env)
    repo = os.path.dirname(HERE)
    if not b.is_checkout(repo):
        raise SystemExit("lakestream: cannot build the package: it must carry the Java library's jars, and %s is not "
                         "inside a Lakestream checkout. Build the jars in a checkout (mvn %s) and set "
                         "LAKESTREAM_JAR_DIR to its loader-java/s3/target, or build from the checkout's "
                         "python-bindings/" % (HERE, " ".join(b.MAVEN_ARGS)))
    try:
        java_home, _ = b.find_jdk()
        return b.build_jars(repo, java_home)
    except b.BuildError as e:
        raise SystemExit(str(e)) from None


def _cli_dir(b):
    env = os.environ.get("LAKESTREAM_JAR_DIR")
    if env:
        cli = os.path.join(os.path.abspath(env), "cli")  # optional there: without it, no console script jars
        return cli if os.path.isfile(os.path.join(cli, b.CLI_JAR_NAME)) else None
    try:
        java_home, _ = b.find_jdk()
        return b.build_cli(os.path.dirname(HERE), java_home)
    except b.BuildError as e:
        raise SystemExit(str(e)) from None


class build_py_with_jars(build_py):
    def run(self):
        # setuptools reuses build/lib: start from nothing, so a wheel never ships modules (or jars)
        # left over from an earlier build of another version of the package
        shutil.rmtree(os.path.join(self.build_lib, "lakestream"), ignore_errors=True)
        super().run()
        b = _build_module()
        src = _jar_dir(b)
        try:
            jars = b.class_path(src)
        except b.BuildError as e:
            raise SystemExit(str(e)) from None
        dst = os.path.join(self.build_lib, "lakestream", "jars")
        shutil.rmtree(dst, ignore_errors=True)  # never ship jars left over from an earlier build
        os.makedirs(os.path.join(dst, "lib"))
        shutil.copy2(jars[0], os.path.join(dst, b.JAR_NAME))
        for j in jars[1:]:
            shutil.copy2(j, os.path.join(dst, "lib", os.path.basename(j)))
        self.announce("lakestream: packed %d jars from %s" % (len(jars), src), level=2)
        # The command line (`lakestream` console script): the CLI jar and the few jars it needs
        # beyond the library's (see lakestream/cli.py for what is not carried, and why).
        cli_src = _cli_dir(b)
        if cli_src is not None:
            cli = b.cli_jars(cli_src)
            os.makedirs(os.path.join(dst, "cli", "lib"))
            shutil.copy2(cli[0], os.path.join(dst, "cli", b.CLI_JAR_NAME))
            for j in cli[1:]:
                shutil.copy2(j, os.path.join(dst, "cli", "lib", os.path.basename(j)))
            self.announce("lakestream: packed the command line (%d jars) from %s" % (len(cli), cli_src), level=2)


setup(cmdclass={"build_py": build_py_with_jars})
