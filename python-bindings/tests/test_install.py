"""The wheel (`pip wheel ./python-bindings`, offline, Debian's pip and setuptools) carries the jars.

Installed into a fresh venv outside the checkout, with no LAKESTREAM_HOME / LAKESTREAM_JAR_DIR
and no Maven on PATH, it produces and reads a stream from the jars inside the package, and its
`lakestream` console script (and `python -m lakestream`) runs the command line.
"""
import glob
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

from conftest import BINDINGS, REPO, write_stream

from lakestream import _build

PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "--no-index",
             "--no-cache-dir"]


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAKESTREAM_HOME", "LAKESTREAM_JAR_DIR")}
    env.update(extra)
    return env


def test_wheel_carries_the_jars_and_works_in_a_fresh_venv_without_checkout_or_maven(jvm, tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    r = subprocess.run(PIP_WHEEL + [BINDINGS, "-w", str(wheelhouse)], capture_output=True, text=True, timeout=600,
                       env=_clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = glob.glob(str(wheelhouse / "lakestream-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    lib = {os.path.basename(p) for p in glob.glob(os.path.join(_build.jar_dir_of(REPO), "lib", "*.jar"))}
    assert "lakestream/jars/lakestream-s3.jar" in names
    assert {n[len("lakestream/jars/lib/"):] for n in names if n.startswith("lakestream/jars/lib/")} == lib
    assert any(j.startswith("lakestream-core-") for j in lib) and any(j.startswith("lakestream-native-shims-") for j in lib)
    assert not any("_build_info" in n for n in names), "the wheel must not record the checkout it was built in"
    cli_lib = {n[len("lakestream/jars/cli/lib/"):] for n in names if n.startswith("lakestream/jars/cli/lib/")}
    assert "lakestream/jars/cli/lakestream-cli.jar" in names
    assert any(j.startswith("picocli-") for j in cli_lib) and not any(j.startswith("tokenizers-") for j in cli_lib)

    # Somewhere else entirely: the wheel copied to a folder with no checkout above it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _build.checkout_above(str(elsewhere / "x")) is None
    copied = shutil.copy(wheel, elsewhere)
    venv = elsewhere / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    py = str(venv / "bin" / "python")
    # Debian's pip (system site packages) installs into the venv it runs in.
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--no-cache-dir", copied],
                       capture_output=True, text=True, timeout=300, env=_clean_env())
    assert r.returncode == 0, r.stdout + r.stderr
    code = textwrap.dedent("""
        import shutil, sys, numpy as np, lakestream
        from lakestream import _jvm
        assert shutil.which("mvn") is None, "Maven must not be reachable here"
        uri = "file://" + sys.argv[1] + "/stream"
        with lakestream.Producer(uri, "wheel", world_size=1) as p:
            for s in range(3):
                p.append([{"tokens": np.full((2, 4), s, dtype=np.int32), "record_id": np.array([2 * s, 2 * s + 1])}],
                         cursor=str(s + 1))
        ds = lakestream.TorchDataset(uri, timeout_s=0.5, end_on_idle=True)
        print([b["record_id"].tolist() for b in ds])
        print(lakestream.__file__)
        print(_jvm.jar_origin)
    """)
    r = subprocess.run([py, "-c", code, str(elsewhere)], capture_output=True, text=True, timeout=120, cwd=str(elsewhere),
                       env=_clean_env(PATH=str(venv / "bin")))
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    site = str(venv / "lib")
    assert out[0] == "[[0, 1], [2, 3], [4, 5]]"
    assert out[1].startswith(site), out[1]
    assert out[2].startswith("packaged " + site), out[2]
    # The command line stands on its own too: the console script and python -m lakestream.
    uri = "file://" + str(elsewhere) + "/stream"
    env = _clean_env(PATH=str(venv / "bin"))
    r = subprocess.run([str(venv / "bin" / "lakestream"), "inspect", "--stream", uri], capture_output=True, text=True,
                       timeout=120, cwd=str(elsewhere), env=env)
    assert r.returncode == 0 and "committed steps  3" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([py, "-m", "lakestream", "blame", "--stream", uri, "--step", "2"], capture_output=True, text=True,
                       timeout=120, cwd=str(elsewhere), env=env)
    assert r.returncode == 0 and "producer   wheel" in r.stdout, r.stdout + r.stderr
    print("wheel %s: %.1f MB" % (os.path.basename(wheel), os.path.getsize(wheel) / 1e6))


def test_wheel_build_outside_a_checkout_fails_with_a_clear_message(tmp_path):
    copy = tmp_path / "python-bindings"
    shutil.copytree(BINDINGS, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests"))
    r = subprocess.run(PIP_WHEEL + [str(copy), "-w", str(tmp_path / "w")], capture_output=True, text=True, timeout=300,
                       env=_clean_env())
    assert r.returncode != 0
    assert "not inside a Lakestream checkout" in r.stdout + r.stderr and "LAKESTREAM_JAR_DIR" in r.stdout + r.stderr


def test_import_without_torch_or_jvm():
    code = "import sys, lakestream, jpype; assert 'torch' not in sys.modules; assert not jpype.isJVMStarted(); print('ok')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PYTHONPATH=os.path.join(BINDINGS, "src")))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_jar_dir_and_home_env_vars(jvm, tmp_path, uri):
    write_stream(uri, world_size=1, steps=1, micro_batch=2)
    code = "import sys, lakestream; r = lakestream.Reader(sys.argv[1], 0, 1); print(r.next(10).arrays['record_id'].tolist())"
    base = {k: v for k, v in os.environ.items() if k not in ("LAKESTREAM_HOME", "LAKESTREAM_JAR_DIR")}
    base["PYTHONPATH"] = os.path.join(BINDINGS, "src")
    ok = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120,
                        env=dict(base, LAKESTREAM_JAR_DIR=os.path.join(REPO, "loader-java", "s3", "target")))
    assert ok.returncode == 0 and ok.stdout.strip() == "[0, 1]", ok.stderr
    bad = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120,
                         env=dict(base, LAKESTREAM_JAR_DIR=str(tmp_path / "nowhere")))
    assert bad.returncode != 0 and "JvmError" in bad.stderr and "LAKESTREAM_JAR_DIR" in bad.stderr
    bad = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120,
                         env=dict(base, LAKESTREAM_HOME=str(tmp_path)))
    assert bad.returncode != 0 and "not a Lakestream checkout" in bad.stderr
