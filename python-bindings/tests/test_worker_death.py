"""DataLoader workers (each with its own JVM) die with their trainer: SIGKILL of the trainer
takes its workers along at once, not after PyTorch's 5 s watchdog."""
import os
import signal
import subprocess
import sys
import textwrap
import time

from conftest import python_env, write_stream

TRAINER = textwrap.dedent("""
    import sys, time
    import lakestream
    from torch.utils.data import DataLoader
    ds = lakestream.TorchDataset(sys.argv[1], rank=0, world_size=1, timeout_s=60)
    it = iter(DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="spawn"))
    next(it), next(it)  # both workers run, each with its JVM
    print("ready", flush=True)
    time.sleep(600)
""")


def _alive(pid):
    """True while ``pid`` runs (a zombie waiting for a reaper counts as dead)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _workers(pid):
    kids = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            kids += [int(c) for c in f.read().split()]
    out = []
    for k in kids:
        try:
            with open("/proc/%d/cmdline" % k, "rb") as f:
                if b"spawn_main" in f.read():
                    out.append(k)
        except FileNotFoundError:
            pass
    return out


def test_sigkill_of_the_trainer_takes_its_workers_along(jvm, uri):
    write_stream(uri, world_size=1, steps=4)  # not closed: the workers then wait for step 4
    p = subprocess.Popen([sys.executable, "-c", TRAINER, uri], env=python_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        workers = _workers(p.pid)
        assert len(workers) == 2, workers
        p.send_signal(signal.SIGKILL)
        p.wait()
        deadline = time.monotonic() + 3.0  # PyTorch's watchdog alone takes 5 s and more
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "workers outlived their trainer: %s" % workers
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
