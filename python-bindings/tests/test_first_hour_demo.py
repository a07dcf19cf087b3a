"""examples/first_hour_demo.py runs end to end: SIGTERM on preemption with exact resume, and
three consumers of one stream with GC respecting all of them."""
import os
import subprocess
import sys

from conftest import BINDINGS, python_env

DEMO = os.path.join(BINDINGS, "examples", "first_hour_demo.py")


def test_first_hour_demo(tmp_path):
    r = subprocess.run([sys.executable, DEMO, "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=300,
                       env=python_env())
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    assert "trainer: handler ran: saved checkpoint next_step=6, recorded it in the stream, exit 0" in out, out
    assert "trainer restarted: resumed at step 6, trained steps 6-11, end of stream, exit 0" in out, out
    assert "resume is exact" in out
    lines = {line.split(" floor ")[0].strip(): line for line in out.splitlines() if " floor " in line and "consumers {" in line}
    assert "floor  0; GC reclaimed 0 batch objects" in lines["training run: steps 0-11, checkpoints 4, 8, 12"], out
    assert "floor  6; (no GC run yet)" in lines["eval job: steps 0-9, checkpoints 6, 10"], out
    assert "floor  0; GC reclaimed 0 batch objects" in lines["reference run registered at step 0"], out
    assert "floor  6; GC reclaimed 6 batch objects" in lines["reference run done and removed"], out
    assert "BelowFloorError: " in out and "the lowest step still readable is 6" in out
    assert out.rstrip().splitlines()[-1] == "OK"
