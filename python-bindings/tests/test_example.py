import os
import subprocess
import sys

from conftest import BINDINGS, python_env

EXAMPLE = os.path.join(BINDINGS, "examples", "train_torch.py")


def test_example_help():
    r = subprocess.run([sys.executable, EXAMPLE, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--checkpoint-at" in r.stdout


def test_example_trains_is_killed_restores_and_continues(tmp_path):
    r = subprocess.run([sys.executable, EXAMPLE, "--workdir", str(tmp_path), "--steps", "8", "--checkpoint-at", "3",
                        "--micro-batch", "4", "--seq-len", "8"], capture_output=True, text=True, timeout=180,
                       env=python_env())
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "checkpointed at step 3" in out and "killed (exit -9)" in out
    assert "continued on steps 3..7" in out
    assert "bit for bit" in out and out.rstrip().splitlines()[-1].startswith("OK")
