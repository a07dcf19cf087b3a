"""One ranged GET per node per step: 4 real gloo ranks as 2 "nodes" against the embedded S3 server.

Each rank talks to the server through its own counting relay (test_job_follower.Relay), so the
test counts which process sent which request: the log's GETs come from the job's leader only,
the data GETs per step are one per node (each node's local rank 0 fetches the node's byte range
into a shared file), and every rank's bytes equal an independent read. The fetching process of
one node killed with SIGKILL: its other rank reads on by its own ranged GETs, with the same bytes.
"""
import json
import os
import subprocess
import sys
import time

from conftest import free_port, rank_env
from test_job_follower import (W, Relay, independent, is_data, is_log, new_stream, s3,  # noqa: F401 (s3: fixture)
                               server_port, via, write)

import lakestream

PER_NODE = 2

WORKER = r'''
import hashlib, json, os, sys, time
import torch.distributed as dist
import lakestream
uri, out, node_dir, stall_rank, stall_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
dist.init_process_group("gloo")
rank = dist.get_rank()
# job_follower "off" where a rank is killed: a dead peer would (rightly) fail the others' collectives
ds = lakestream.TorchDataset(uri, timeout_s=120, prefetch=2, node_fetch="auto", node_fetch_dir=node_dir,
                             job_follower="job" if stall_rank < 0 else "off")
seen = []
for b in ds:
    seen.append([b["step"], hashlib.sha256(b["tokens"].numpy().tobytes()).hexdigest(), b["record_id"].tolist()])
    if rank == stall_rank and b["step"] == stall_after:
        open(out + ".stalled", "w").close()
        while True:  # held here until the test kills this process (SIGKILL): never released
            time.sleep(1)
with open(out, "w") as f:
    json.dump({"seen": seen, "served": ds.node_served, "fallbacks": ds.node_fallbacks}, f)
if stall_rank < 0:
    dist.barrier()
print("DONE", rank, flush=True)
'''


def launch(tmp, uri, relays, tag, stall_rank=-1, stall_after=-1):
    script = tmp / "node_worker.py"
    script.write_text(WORKER)
    node_dir = tmp / ("shm-" + tag)
    node_dir.mkdir()
    port = free_port()
    procs = []
    for r in range(W):
        env = rank_env(r, W, PER_NODE, port)
        out = str(tmp / ("%s-rank%d.json" % (tag, r)))
        procs.append(subprocess.Popen([sys.executable, str(script), via(uri, relays[r].port), out, str(node_dir),
                                       str(stall_rank), str(stall_after)],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs, node_dir


def test_one_ranged_get_per_node_per_step_with_identical_bytes(s3, tmp_path, jvm):
    uri = new_stream(s3, "nf-two-nodes")
    steps = 12
    write(uri, steps)
    lakestream.close_stream(uri)
    relays = [Relay(server_port(uri)) for _ in range(W)]
    procs, node_dir = launch(tmp_path, uri, relays, "a")
    for r, p in enumerate(procs):
        out, _ = p.communicate(timeout=240)
        assert p.returncode == 0, "rank %d:\n%s" % (r, out)
    expected = independent(uri, steps)
    for r in range(W):
        got = json.loads((tmp_path / ("a-rank%d.json" % r)).read_text())
        assert got["seen"] == expected[r], "rank %d: bytes differ from an independent read" % r
        assert got["served"] == steps and got["fallbacks"] == 0, "rank %d: %s" % (r, got)
    data = [relays[r].count(is_data) for r in range(W)]
    assert data == [steps, 0, steps, 0], "one ranged GET per node per step, by each node's local rank 0: %s" % data
    assert sum(data) == 2 * steps  # data GETs per step = nodes (2), not ranks (4)
    logs = [relays[r].count(is_log) for r in range(W)]
    assert logs[0] > 0 and logs[1:] == [0, 0, 0], "the log is read by the job's leader only: %s" % logs
    assert os.listdir(node_dir) == [], "every step file and control file removed at the end: %s" % os.listdir(node_dir)


def test_the_node_fetcher_killed_its_node_reads_on_by_its_own_gets(s3, tmp_path, jvm):
    uri = new_stream(s3, "nf-kill")
    steps = 12
    write(uri, steps)
    lakestream.close_stream(uri)
    relays = [Relay(server_port(uri)) for _ in range(W)]
    # rank 2, node 1's local rank 0 (its fetcher), stops after step 3 and is killed there
    procs, node_dir = launch(tmp_path, uri, relays, "k", stall_rank=2, stall_after=3)
    stalled = tmp_path / "k-rank2.json.stalled"
    deadline = time.time() + 180
    while not stalled.exists():
        if time.time() > deadline:
            for p in procs:
                p.kill()
            raise AssertionError("rank 2 did not get to step 3:\n" + "\n".join(
                "rank %d:\n%s" % (r, p.communicate()[0][-3000:]) for r, p in enumerate(procs)))
        assert procs[2].poll() is None, procs[2].communicate()[0]
        time.sleep(0.05)  # polling a file the rank writes, not timing
    procs[2].kill()  # SIGKILL
    procs[2].wait(timeout=60)
    for r in (0, 1, 3):
        out, _ = procs[r].communicate(timeout=240)
        assert procs[r].returncode == 0, "rank %d:\n%s" % (r, out)
    expected = independent(uri, steps)
    for r in (0, 1, 3):
        got = json.loads((tmp_path / ("k-rank%d.json" % r)).read_text())
        assert got["seen"] == expected[r], "rank %d: bytes differ from an independent read" % r
    got3 = json.loads((tmp_path / "k-rank3.json").read_text())
    assert got3["fallbacks"] >= 1 and got3["served"] + got3["fallbacks"] == steps, got3
    assert relays[3].count(is_data) == got3["fallbacks"], "rank 3 read exactly the steps its node's copy lacked"


def test_without_a_process_group_or_when_off_every_rank_reads_its_own_shard(jvm, monkeypatch, tmp_path):
    from lakestream import _nodefetch
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert _nodefetch._dist() is None  # this pytest process has no process group
    assert _nodefetch.choose("auto", 1, 4, 1, False, str(tmp_path)) is None
    assert _nodefetch.choose("off", 1, 4, 1, False, str(tmp_path)) is None
    with __import__("pytest").raises(lakestream.InvalidArgumentError, match="node_fetch must be one of"):
        lakestream.TorchDataset("file:///nowhere", node_fetch="on")
