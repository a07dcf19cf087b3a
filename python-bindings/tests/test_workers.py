"""DataLoader with num_workers > 0: a JVM per worker (spawn), disjoint steps, in order."""
import subprocess
import sys
import textwrap

import pytest
from torch.utils.data import DataLoader

import lakestream
from conftest import python_env, write_stream


def test_spawned_workers_read_disjoint_steps_in_order(jvm, uri):
    written = write_stream(uri, world_size=1, steps=7, micro_batch=2)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=5, timeout_s=5.0)
    ds.load_state_dict({"next_step": 1})
    dl = DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="spawn")
    got = [(b["step"], b["record_id"].tolist()) for b in dl]
    # Worker 0 yields steps 1, 3, 5; worker 1 yields 2, 4; the loader's round robin keeps order,
    # and steps=5 ends both workers without waiting for the timeout.
    assert got == [(s, written[s]) for s in range(1, 6)]


def test_forked_workers_after_jvm_start_raise_a_clear_error(jvm, uri):
    write_stream(uri, world_size=1, steps=2)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=0.5)
    dl = DataLoader(ds, batch_size=None, num_workers=1, multiprocessing_context="fork")
    with pytest.raises(Exception, match="spawn"):
        list(dl)


def test_forked_workers_work_when_the_parent_has_no_jvm(jvm, uri):
    write_stream(uri, world_size=1, steps=4, micro_batch=1)
    code = textwrap.dedent("""
        import sys, jpype, lakestream
        from torch.utils.data import DataLoader
        ds = lakestream.TorchDataset(sys.argv[1], rank=0, world_size=1, timeout_s=1.0)
        steps = [b["step"] for b in DataLoader(ds, batch_size=None, num_workers=2)]  # default fork on Linux
        assert not jpype.isJVMStarted(), "the parent must not have started a JVM"
        print(steps)
    """)
    r = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120,
                       env=python_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[0, 1, 2, 3]"
