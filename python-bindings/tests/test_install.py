"""`pip install ./python-bindings` (offline, Debian's pip and setuptools) gives a working package."""
import os
import subprocess
import sys
import textwrap

from conftest import BINDINGS, REPO, write_stream


def test_pip_install_and_import_from_elsewhere(jvm, tmp_path, uri):
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-deps",
                        "--no-index", "--target", str(target), BINDINGS], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    write_stream(uri, world_size=1, steps=2, micro_batch=2)
    code = textwrap.dedent("""
        import sys, lakestream
        from lakestream import _build_info
        assert lakestream.__file__.startswith(sys.argv[1]), lakestream.__file__
        print(_build_info.REPO_ROOT)
        ds = lakestream.TorchDataset(sys.argv[2], timeout_s=0.5)
        print([b["record_id"].tolist() for b in ds])
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LAKESTREAM_HOME", "LAKESTREAM_JAR_DIR")}
    env["PYTHONPATH"] = str(target)
    r = subprocess.run([sys.executable, "-c", code, str(target), uri], capture_output=True, text=True, timeout=120,
                       env=env, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [REPO, "[[0, 1], [2, 3]]"]


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
