"""lakestream.produce: a PyTorch Dataset as an exactly-once producer, with real worker processes,
real SIGKILLs and the committed stream read back through the Reader."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import lakestream
from conftest import HERE, python_env
import produce_job

W, B = 2, 3  # world size, micro-batch


def read_all(uri, world_size=W, timeout=30):
    """Every committed step as (per rank dict of arrays), rank shards in order; asserts nothing follows."""
    readers = [lakestream.Reader(uri, r, world_size) for r in range(world_size)]
    steps = []
    try:
        while True:
            try:
                first = readers[0].next(0.5 if steps else timeout)
            except lakestream.StepTimeoutError:
                break
            row = [{k: np.array(v) for k, v in first.arrays.items()}]
            for rd in readers[1:]:
                row.append({k: np.array(v) for k, v in rd.next(timeout).arrays.items()})
            steps.append(row)
    finally:
        for rd in readers:
            rd.close()
    return steps


def ids(steps):
    """(epoch, [sample index, ...]) per step, rank shards back to back."""
    out = []
    for row in steps:
        es = {int(e) for sh in row for e in sh["epoch"]}
        assert len(es) == 1, "a global batch mixes epochs: %s" % es
        out.append((es.pop(), [int(i) for sh in row for i in sh["idx"]]))
    return out


def expected_map(n, epochs, shuffle, seed=0):
    """The global batches DistributedSampler semantics give: epoch e's seeded permutation, cut in W*B."""
    out = []
    for e in range(epochs):
        perm = (torch.randperm(n, generator=torch.Generator().manual_seed(seed + e)).tolist() if shuffle
                else list(range(n)))
        for g in range(n // (W * B)):
            out.append((e, perm[g * W * B:(g + 1) * W * B]))
    return out


def same_bytes(a, b):
    assert len(a) == len(b), "%d steps vs %d" % (len(a), len(b))
    for s, (ra, rb) in enumerate(zip(a, b)):
        for r, (x, y) in enumerate(zip(ra, rb)):
            assert sorted(x) == sorted(y)
            for k in x:
                assert x[k].dtype == y[k].dtype and x[k].tobytes() == y[k].tobytes(), "step %d rank %d %s" % (s, r, k)


def job(uri, **kw):
    return subprocess.Popen([sys.executable, os.path.join(HERE, "produce_job.py"), uri, json.dumps(kw)],
                            env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_file(path, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError("the job ended before reaching the fail point: %s" % proc.communicate()[1][-3000:])
        assert time.monotonic() < deadline, "fail point %s never reached" % path
        time.sleep(0.02)
    with open(path) as f:
        return int(f.read())


def finish(proc, ok=True):
    out, err = proc.communicate(timeout=300)
    if ok:
        assert proc.returncode == 0, err[-3000:]
    return err


N, EPOCHS = 40, 2  # 6 global batches per epoch, 4 samples dropped each epoch


@pytest.fixture(scope="module")
def reference(jvm, tmp_path_factory):
    """An uninterrupted run, in this process with num_workers=0 (the assignment does not depend on it)."""
    uri = "file://" + str(tmp_path_factory.mktemp("ref") / "s")
    assert produce_job.run(uri, n=N, world_size=W, micro_batch=B, epochs=EPOCHS, shuffle=True, seed=7) == 12
    steps = read_all(uri)
    assert ids(steps) == expected_map(N, EPOCHS, True, seed=7)
    return steps


@pytest.mark.parametrize("victim,where", [("host", "mid-epoch"), ("worker", "epoch boundary"),
                                          ("host", "epoch boundary")])
def test_sigkill_then_restart_commits_every_sample_once_in_the_same_batches(jvm, tmp_path, reference, victim, where):
    uri = "file://" + str(tmp_path / "s")
    exp = expected_map(N, EPOCHS, True, seed=7)
    # mid-epoch: block in global batch 3 of epoch 0 (rank 1); epoch boundary: the first sample of epoch 1
    block = [0, exp[3][1][B]] if where == "mid-epoch" else [1, exp[6][1][0]]
    marker = str(tmp_path / "blocked")
    args = dict(n=N, world_size=W, micro_batch=B, epochs=EPOCHS, shuffle=True, seed=7, num_workers=2)
    proc = job(uri, block=block, marker=marker, **args)
    pid = wait_file(marker, proc)
    assert pid != proc.pid  # the sample runs in a worker process, not in the host
    before = 3 if where == "mid-epoch" else 6
    # global batches before the blocked one are committed in the background; wait for them
    with lakestream.Reader(uri, 0, W) as r:
        for _ in range(before):
            r.next(60)
    os.kill(proc.pid if victim == "host" else pid, signal.SIGKILL)
    if victim == "host":
        proc.wait(60)
        # the workers die with their host (no orphan keeps running the dataset)
        deadline = time.monotonic() + 30
        while os.path.exists("/proc/%d" % pid) and open("/proc/%d/stat" % pid).read().split()[2] != "Z":
            assert time.monotonic() < deadline, "worker %d outlived its killed host" % pid
            time.sleep(0.02)
    else:
        err = finish(proc, ok=False)
        assert proc.returncode != 0 and "WorkerDiedError" in err and "killed by signal 9" in err, err[-2000:]
    restart = job(uri, **args)
    finish(restart)
    steps = read_all(uri)
    assert ids(steps) == exp
    same_bytes(steps, reference)
    # a third run with the same arguments finds everything committed
    assert produce_job.run(uri, **args) == 0


def test_a_worker_dying_while_flow_control_holds_the_host_ends_the_run_at_once(jvm, tmp_path):
    """No trainer records checkpoints, so flow control holds the host after 2 steps; a worker
    killed then is reported at once (not once a checkpoint makes room, which may be never), and
    nothing beyond the bound is committed (reruns after a kill: the SIGKILL tests above)."""
    uri = "file://" + str(tmp_path / "s")
    marker = str(tmp_path / "blocked")
    args = dict(n=N, world_size=W, micro_batch=B, epochs=1, num_workers=2, max_lag_steps=2)
    # batches 0 and 1 are committed, batch 2 is appended and held by flow control, and the host
    # waits for batch 3, whose worker blocks in its first sample until the test kills it
    proc = job(uri, block=[0, 3 * W * B], marker=marker, **args)
    pid = wait_file(marker, proc)
    with lakestream.Reader(uri, 0, W) as r:
        r.next(60), r.next(60)  # 2 steps committed: the bound
    os.kill(pid, signal.SIGKILL)
    err = finish(proc, ok=False)
    assert "WorkerDiedError" in err and "killed by signal 9" in err, err[-2000:]
    assert "it died while flow control held the producer" in err, err[-2000:]
    with lakestream.Reader(uri, 0, W) as r:
        assert r.committed_steps() == 2, "nothing beyond the bound was committed"


def test_worker_exception_names_the_sample_and_commits_nothing_after_it(jvm, tmp_path, reference):
    uri = "file://" + str(tmp_path / "s")
    exp = expected_map(N, EPOCHS, True, seed=7)
    bad = exp[2][1][B + 1]  # global batch 2, rank 1
    args = dict(n=N, world_size=W, micro_batch=B, epochs=EPOCHS, shuffle=True, seed=7, num_workers=2)
    with pytest.raises(lakestream.ProduceError) as ei:  # workers are spawned here: this process has a JVM
        produce_job.run(uri, fail=[0, bad], **args)
    e = ei.value
    assert e.index == bad and (e.epoch, e.step, e.rank) == (0, 2, 1)
    assert "sample index %d" % bad in str(e) and "bad sample %d" % bad in str(e)
    assert isinstance(e.__cause__, ValueError)
    assert ids(read_all(uri)) == exp[:2]  # the batches before it, whole; nothing of batch 2
    assert produce_job.run(uri, **args) == 10
    same_bytes(read_all(uri), reference)


def test_other_arguments_against_the_cursor_raise(jvm, tmp_path):
    uri = "file://" + str(tmp_path / "s")
    args = dict(n=12, world_size=W, micro_batch=B, epochs=1, shuffle=True, seed=1)
    assert produce_job.run(uri, **args) == 2
    with pytest.raises(lakestream.InvalidArgumentError, match="was run with seed=1, now seed=2"):
        produce_job.run(uri, **dict(args, seed=2))
    with pytest.raises(lakestream.InvalidArgumentError, match="len=12, now len=13"):
        produce_job.run(uri, **dict(args, n=13))
    assert produce_job.run(uri, **dict(args, epochs=2)) == 2  # more epochs extend the run
    assert [e for e, _ in ids(read_all(uri))] == [0, 0, 1, 1]
    with lakestream.Producer(uri, "hand-written", W) as p:
        p.append([{"idx": np.zeros(1, dtype=np.int64)}] * W, cursor="offset=3")
    with pytest.raises(lakestream.InvalidArgumentError, match="did not write"):
        produce_job.run(uri, producer="hand-written", **args)
    with pytest.raises(lakestream.InvalidArgumentError, match="fewer than one global batch"):
        produce_job.run(uri, producer="q", **dict(args, n=5))


def _check_iterable_epochs(steps, n, epochs):
    got = ids(steps)
    for e in range(epochs):
        samples = [i for ep, batch in got if ep == e for i in batch]
        assert len(samples) == len(set(samples)), "epoch %d repeats samples" % e
        assert len(samples) == (n // B // W) * W * B  # whole micro-batches per worker, whole global batches


@pytest.mark.parametrize("kind,victim", [("stateful", "host"), ("stream", "worker")])
def test_iterable_dataset_sigkill_and_restart(jvm, tmp_path, kind, victim):
    """IterableDataset sharded over workers by get_worker_info; resumed from state_dict() when the
    dataset has one, else by iterating the epoch again and skipping what is committed."""
    args = dict(kind=kind, n=26, world_size=W, micro_batch=B, epochs=2, num_workers=2)
    ref = "file://" + str(tmp_path / "ref")
    finish(job(ref, **args))
    expected = read_all(ref)
    _check_iterable_epochs(expected, 26, 2)
    assert ids(expected)[0][1] == [0, 2, 4, 1, 3, 5]  # worker 0's micro-batch, then worker 1's
    uri = "file://" + str(tmp_path / "s")
    marker = str(tmp_path / "blocked")
    proc = job(uri, block=[1, 14], marker=marker, **args)  # epoch 1, worker 0's 3rd micro-batch
    pid = wait_file(marker, proc)
    with lakestream.Reader(uri, 0, W) as r:
        for _ in range(len(expected) // 2 + 1):  # all of epoch 0 and epoch 1's first global batch
            r.next(60)
    os.kill(proc.pid if victim == "host" else pid, signal.SIGKILL)
    finish(proc, ok=False)
    finish(job(uri, **args))
    same_bytes(read_all(uri), expected)


def test_readme_example_runs_and_resumes(jvm, tmp_path):
    """The five-line example leading the README's "Producing from a PyTorch Dataset" section."""
    import re
    readme = open(os.path.join(os.path.dirname(HERE), "README.md")).read()
    section = readme.split("## Producing from a PyTorch Dataset", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "lakestream.produce(" in code and len(code.strip().splitlines()) <= 6
    uri = "file://" + str(tmp_path / "squares")
    script = tmp_path / "example.py"
    script.write_text(code.replace("file:///tmp/squares", uri))
    for _ in range(2):  # the second run finds everything committed
        subprocess.run([sys.executable, str(script)], env=python_env(), check=True, timeout=300)
    got = [(e, [int(v) for v in b]) for e, b in _xs_by_epoch(read_all(uri))]
    assert len(got) == 2 * (1000 // 16)
    for e in (0, 1):
        xs = [x for ep, b in got if ep == e for x in b]
        perm = torch.randperm(1000, generator=torch.Generator().manual_seed(e)).tolist()
        assert xs == perm[:len(xs)]  # seeded per epoch as DistributedSampler.set_epoch does


def _xs_by_epoch(steps):
    """(epoch, x[:, 0] of every shard) per step; the epoch is counted from the step number."""
    per_epoch = 1000 // 16
    return [(s // per_epoch, [v for sh in row for v in sh["x"][:, 0]]) for s, row in enumerate(steps)]


WORKER_PROBE = '''
import sys
import numpy as np
import lakestream

class Probe:
    """Each worker yields 6 samples saying what it sees: lakestream's worker info, whether torch is
    loaded, and (once the dataset imported torch itself) torch's worker info and thread count."""
    def __init__(self, use_torch):
        self.use_torch = use_torch
    def __iter__(self):
        info = lakestream.get_worker_info()
        torch_id = threads = -1
        if self.use_torch:
            import torch.utils.data
            torch_id, threads = torch.utils.data.get_worker_info().id, torch.get_num_threads()
        for i in range(6):
            yield {"worker": np.int64(info.id), "workers": np.int64(info.num_workers),
                   "torch": np.int64("torch" in sys.modules), "torch_id": np.int64(torch_id),
                   "threads": np.int64(threads)}

assert "torch" not in sys.modules
lakestream.produce(sys.argv[1], Probe(sys.argv[2] == "torch"), producer="probe", world_size=2, micro_batch=3,
                   num_workers=2)
assert lakestream.get_worker_info() is None  # not in a worker
'''


@pytest.mark.parametrize("use_torch", [False, True])
def test_workers_import_torch_only_when_the_dataset_does(jvm, tmp_path, use_torch):
    """lakestream.get_worker_info() works without torch, so a torch-free pipeline keeps its workers
    free of torch's ~190 MB; a dataset that imports torch later still gets torch's worker info and
    one compute thread, as a DataLoader worker has."""
    script = tmp_path / "probe.py"
    script.write_text(WORKER_PROBE)
    uri = "file://" + str(tmp_path / "s")
    subprocess.run([sys.executable, str(script), uri, "torch" if use_torch else "none"], env=python_env(),
                   check=True, timeout=300)
    shards = [sh for row in read_all(uri) for sh in row]
    assert len(shards) == 4  # 2 workers x 6 samples = 4 micro-batches of 3, 2 global batches
    assert sorted(int(sh["worker"][0]) for sh in shards) == [0, 0, 1, 1]
    for sh in shards:
        assert set(sh["worker"].tolist()) == {int(sh["worker"][0])} and set(sh["workers"].tolist()) == {2}
        assert set(sh["torch"].tolist()) == {int(use_torch)}
        if use_torch:
            assert sh["torch_id"].tolist() == sh["worker"].tolist() and set(sh["threads"].tolist()) == {1}


def test_a_worker_that_finished_is_not_taken_for_dead_while_flow_control_holds_the_host():
    """A worker exits (code 0) once it has sent all its shards, possibly before the host, held by
    flow control, has read its "done": the check between the slices of that wait must not call it
    dead (it did: the restart of a SIGKILLed run failed under load); a killed one still ends the run."""
    import multiprocessing
    import types
    from lakestream import _produce
    ctx = multiprocessing.get_context("fork")
    finished, killed = ctx.Process(target=os._exit, args=(0,)), ctx.Process(target=time.sleep, args=(60,))
    for proc in (finished, killed):
        proc.start()
    finished.join()
    os.kill(killed.pid, signal.SIGKILL)
    killed.join()

    def source(proc, worker_id):
        s = _produce._ProcessSource.__new__(_produce._ProcessSource)
        s.proc, s.worker_id, s.finished = proc, worker_id, False
        return s

    host = _produce._Host.__new__(_produce._Host)
    host.p = types.SimpleNamespace(waiting_reason="flow control: lag 2 of 2")
    host.sources = [source(finished, 0)]
    host._check_workers()  # no error: worker 0 left after its last shard
    host.sources.append(source(killed, 1))
    with pytest.raises(lakestream.WorkerDiedError, match=r"worker 1 .* killed by signal 9.*flow control: lag 2 of 2"):
        host._check_workers()
