"""DataLoader with num_workers > 0: a JVM per worker (spawn), disjoint steps, in order."""
import subprocess
import sys
import textwrap

import numpy as np
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
        ds = lakestream.TorchDataset(sys.argv[1], rank=0, world_size=1, timeout_s=1.0, end_on_idle=True)
        steps = [b["step"] for b in DataLoader(ds, batch_size=None, num_workers=2)]  # default fork on Linux
        assert not jpype.isJVMStarted(), "the parent must not have started a JVM"
        print(steps)
    """)
    r = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=120,
                       env=python_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[0, 1, 2, 3]"


def test_per_worker_state_resumes_each_workers_share(jvm, uri, monkeypatch):
    """What torchdata's StatefulDataLoader does with 2 workers, simulated in-process."""
    import copy
    import types

    import lakestream.dataset as dsmod
    write_stream(uri, world_size=1, steps=12, micro_batch=1)
    worker = {"id": 0}
    monkeypatch.setattr(dsmod, "get_worker_info", lambda: types.SimpleNamespace(num_workers=2, id=worker["id"]))
    proto = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=10, timeout_s=5)
    proto.load_state_dict({"next_step": 1})

    def start(copies):
        its = []
        for k, d in enumerate(copies):
            worker["id"] = k
            it = iter(d)
            its.append(it)
        return its

    def take(its, copies, order):
        out = []
        for k in order:
            worker["id"] = k
            out.append(next(its[k])["step"])
        return out

    copies = [copy.deepcopy(proto) for _ in range(2)]
    its = start(copies)
    assert take(its, copies, [0, 1, 0]) == [1, 2, 3]
    states = [d.state_dict() for d in copies]
    assert states == [{"next_step": 4, "anchor": 1, "end": 11}, {"next_step": 3, "anchor": 1, "end": 11}]
    del its
    restored = [copy.deepcopy(proto) for _ in range(2)]
    for d, st in zip(restored, states):
        d.load_state_dict(st)
    its = start(restored)
    # Round robin continues with worker 1; steps 4..10 follow, then both workers end (end = 11).
    assert take(its, restored, [1, 0, 1, 0, 1, 0, 1]) == [4, 5, 6, 7, 8, 9, 10]
    for k in (0, 1):
        worker["id"] = k
        with pytest.raises(StopIteration):
            next(its[k])


class CountingDataset(lakestream.TorchDataset):
    """Yields, after its own steps, how many batch bytes its reader read from the store."""

    def __iter__(self):
        yield from super().__iter__()
        yield {"bytes_read": self.bytes_read}


@pytest.mark.parametrize("workers", [0, 2])
def test_workers_together_read_each_step_once_from_the_store(jvm, uri, workers):
    """The stride reaches the Java reader: store bytes read per trained byte is 1.0, not n."""
    steps = 12
    with lakestream.Producer(uri, "p", 1) as p:
        for s in range(steps):
            p.append([{"tokens": np.full((8, 2048), s, dtype=np.int32), "record_id": np.arange(8) + 8 * s}],
                     cursor=str(s + 1))
    ds = CountingDataset(uri, rank=0, world_size=1, steps=steps, timeout_s=10.0)
    dl = DataLoader(ds, batch_size=None, num_workers=workers,
                    multiprocessing_context="spawn" if workers else None)
    got, trained, read, reports = [], 0, 0, 0
    for item in dl:
        if "bytes_read" in item:
            read += int(item["bytes_read"])
            reports += 1
            continue
        got.append(item["step"])
        assert int(item["tokens"][0, 0]) == item["step"]
        trained += sum(t.numel() * t.element_size() for k, t in item.items() if k != "step")
    assert got == list(range(steps))
    assert reports == max(1, workers)
    # The shard's safetensors header is the only extra (~0.2 % here); n readers reading every
    # step would give n.
    assert 1.0 <= read / trained < 1.01, (read, trained)
