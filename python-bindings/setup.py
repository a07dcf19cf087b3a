"""Build hook: records the repository checkout this package was installed from.

The package runs the Java library in-process; it finds the jars through LAKESTREAM_JAR_DIR or
LAKESTREAM_HOME, else through the checkout recorded here at build time (python-bindings/ sits
in the repository root), else by searching upward from the installed module.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class build_py_recording_checkout(build_py):
    def run(self):
        super().run()
        root = os.path.dirname(HERE)
        if not os.path.isfile(os.path.join(root, "loader-java", "pom.xml")):
            root = None  # built from a copy outside the repository: rely on env vars / search
        target = os.path.join(self.build_lib, "lakestream", "_build_info.py")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write("# Written by setup.py at install time.\n")
            f.write("REPO_ROOT = %r\n" % (root,))


setup(cmdclass={"build_py": build_py_recording_checkout})
