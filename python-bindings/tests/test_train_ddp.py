"""examples/train_ddp.py: 2 gloo ranks (env://), producer processes, checkpoint, exact restore."""
import os
import subprocess
import sys

from conftest import BINDINGS, python_env

EXAMPLE = os.path.join(BINDINGS, "examples", "train_ddp.py")


def test_two_ranks_checkpoint_and_restore_exactly(tmp_path):
    r = subprocess.run([sys.executable, EXAMPLE, "--workdir", str(tmp_path), "--steps", "8", "--checkpoint-at", "3",
                        "--timeout-s", "240"], capture_output=True, text=True, timeout=300, env=python_env())
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "2 ranks (gloo, env://)" in out and "from 2 producer processes" in out
    assert "dataset state [3, 3]" in out and "continued on steps 3..7" in out
    assert "exactly once across 2 ranks" in out and "bit for bit" in out
    assert out.rstrip().splitlines()[-1].startswith("OK")
