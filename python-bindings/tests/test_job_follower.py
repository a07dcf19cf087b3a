"""One log follower per job: 4 real gloo ranks as 2 "nodes" against the embedded S3 server.

Each rank talks to the server through its own counting TCP relay (bytes pass unchanged, so the
SigV4 signatures still hold), so the test counts which process sent which request: the log's
GETs come from the leader only, the other ranks read their data and the stream config, and every
rank's bytes equal an independent read. A rank killed mid-run makes the others fail fast with an
error naming the dead peer's group (never a hang, never wrong bytes); the job restarted from the
ranks' saved state (as torchrun restarts a job) reads on with identical bytes.
"""
import glob
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import lakestream
from conftest import REPO, free_port, rank_env

W = 4
PER_NODE = 2
CLI_LIB = os.path.join(REPO, "loader-java", "cli", "target", "lib")
JAVA = os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"), "bin", "java")
REQUEST = re.compile(rb"(GET|HEAD|PUT|POST|DELETE) /[^/ ]+/stream/([^ ?]*)[^ ]* HTTP/1\.1\r\n")

WORKER = r'''
import hashlib, json, os, sys
import torch.distributed as dist
import lakestream
uri, out, mode, start, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
dist.init_process_group("gloo")
rank = dist.get_rank()
ds = lakestream.TorchDataset(uri, start_step=start, steps=None if steps == "-" else int(steps), timeout_s=20,
                             prefetch=2, job_follower=mode, node_fetch="off")  # node fetch: test_node_fetch.py
seen = []
for b in ds:
    seen.append([b["step"], hashlib.sha256(b["tokens"].numpy().tobytes()).hexdigest(), b["record_id"].tolist()])
    with open(out + ".state", "w") as f:  # the rank's checkpoint: next_step after each step
        json.dump(ds.state_dict(), f)
with open(out, "w") as f:
    json.dump(seen, f)
dist.barrier()
print("DONE", rank, flush=True)
'''


class Relay:
    """A TCP relay to the S3 server that counts the requests passing through it, by key."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = []  # (method, key)
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(c, s, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, False), daemon=True).start()

    def _pipe(self, src, dst, count):
        tail = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:  # readers send no bodies: every request line is in the client's stream
                    buf = tail + data
                    for m in REQUEST.finditer(buf):
                        with self.lock:
                            self.requests.append((m.group(1).decode(), m.group(2).decode()))
                    last = buf.rfind(b"\r\n")
                    tail = buf[last + 2:] if last >= 0 else buf[-512:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for x in (src, dst):
                try:
                    x.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def count(self, pred):
        with self.lock:
            return sum(1 for m, k in self.requests if pred(m, k))


@pytest.fixture(scope="module")
def s3():
    jars = glob.glob(os.path.join(CLI_LIB, "*.jar"))
    assert jars, "build the CLI first (mvn -DskipTests package): %s holds the embedded S3 server's class path" % CLI_LIB
    p = subprocess.Popen([JAVA, "-cp", os.pathsep.join(jars), "io.lakestream.testkit.s3.S3ServerProcess"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    assert line.startswith("@@READY "), line
    yield p
    p.stdin.close()
    p.wait(timeout=60)


def new_stream(s3, name):
    s3.stdin.write("BUCKET %s\n" % name)
    s3.stdin.flush()
    line = s3.stdout.readline()
    assert line.startswith("@@URI "), line
    return line[len("@@URI "):].strip()


def via(uri, port):
    return re.sub(r"endpoint=http://127\.0\.0\.1:\d+", "endpoint=http://127.0.0.1:%d" % port, uri)


def server_port(uri):
    return int(re.search(r"endpoint=http://127\.0\.0\.1:(\d+)", uri).group(1))


def write(uri, steps, first_record=0, producer="p"):
    rid = first_record
    with lakestream.Producer(uri, producer, W) as p:
        for _ in range(steps):
            shards = []
            for _r in range(W):
                ids = np.arange(rid, rid + 2, dtype=np.int64)
                rid += 2
                shards.append({"tokens": (ids[:, None] * 7 + np.arange(8)).astype(np.int32), "record_id": ids})
            p.append(shards, cursor="next=%d" % rid)
    return rid


def independent(uri, steps):
    """Every rank's (step, sha256 of tokens, record ids) read by a plain reader of this process."""
    out = []
    for r in range(W):
        rows = []
        with lakestream.Reader(uri, r, W) as rd:
            for _ in range(steps):
                b = rd.next(30)
                rows.append([b.step, hashlib.sha256(b.arrays["tokens"].tobytes()).hexdigest(),
                             b.arrays["record_id"].tolist()])
        out.append(rows)
    return out


def launch(tmp, uri, relays, mode, start=0, steps="-", tag="a"):
    script = tmp / "worker.py"
    script.write_text(WORKER)
    port = free_port()
    procs = []
    for r in range(W):
        env = rank_env(r, W, PER_NODE, port)
        out = str(tmp / ("%s-rank%d.json" % (tag, r)))
        procs.append(subprocess.Popen([sys.executable, str(script), via(uri, relays[r].port), out, mode, str(start), steps],
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs


def finish(procs, timeout=240):
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        outs.append((p.returncode, out))
    return outs


def is_log(m, k):
    """A read of the log: versions, hints, snapshots, index segments (anything but data and the config)."""
    return m in ("GET", "HEAD") and not k.startswith("data/") and k != "_lakestream.json"


def is_data(m, k):
    return m == "GET" and k.startswith("data/")


def assert_fed(relays, leaders):
    """Only the leaders read the log; every other rank's only non-data read is the stream config."""
    for r in range(W):
        logs = relays[r].count(is_log)
        if r in leaders:
            assert logs > 0, "rank %d leads: it follows the log" % r
        else:
            assert logs == 0, "rank %d is fed by its leader, yet sent %d log reads: %s" % (r, logs, relays[r].requests)
            other = [q for q in relays[r].requests if not is_data(*q)]
            assert other == [("GET", "_lakestream.json")], other


def test_one_follower_per_node_reads_the_log_for_its_ranks(s3, tmp_path, jvm):
    mode, leaders = "node", [0, 2]  # job_follower="job" (the default): the kill test below
    uri = new_stream(s3, "jf-" + mode)
    steps = 12
    write(uri, steps)
    lakestream.close_stream(uri)
    relays = [Relay(server_port(uri)) for _ in range(W)]
    outs = finish(launch(tmp_path, uri, relays, mode))
    for r, (rc, out) in enumerate(outs):
        assert rc == 0, "rank %d:\n%s" % (r, out)
    expected = independent(uri, steps)
    for r in range(W):
        got = json.loads((tmp_path / ("a-rank%d.json" % r)).read_text())
        assert got == expected[r], "rank %d: bytes differ from an independent read" % r
    for r in range(W):
        data = relays[r].count(is_data)
        assert data == steps, "rank %d: one ranged GET per step, got %d" % (r, data)
    assert_fed(relays, leaders)


def test_without_a_process_group_or_when_off_every_rank_follows_on_its_own(jvm):
    # The fallback path itself (every rank's own follower) is what every other dataset test runs.
    from lakestream import _jobfeed
    assert _jobfeed._dist() is None  # this pytest process has no process group
    for mode in ("auto", "job", "node", "off"):
        assert _jobfeed.choose(mode, 0, 4, 1) is None
    with pytest.raises(lakestream.InvalidArgumentError, match="job_follower must be one of"):
        lakestream.TorchDataset("file:///nowhere", job_follower="rank0")


def test_a_killed_rank_stops_the_job_with_an_error_and_the_restarted_job_reads_on(s3, tmp_path, jvm):
    uri = new_stream(s3, "jf-kill")
    write(uri, 10)
    relays = [Relay(server_port(uri)) for _ in range(W)]
    procs = launch(tmp_path, uri, relays, "job", tag="k")
    state = tmp_path / "k-rank3.json.state"
    deadline = time.time() + 180
    while not (state.exists() and state.read_text() and json.loads(state.read_text())["next_step"] >= 3):
        assert time.time() < deadline, "rank 3 did not get to step 3"
        assert procs[3].poll() is None, procs[3].communicate()[0]
        time.sleep(0.05)  # polling a file the rank writes, not timing
    procs[3].kill()
    outs = finish(procs[:3], timeout=180)
    for r, (rc, out) in enumerate(outs):
        assert rc != 0 and "DONE" not in out, "rank %d went on without rank 3:\n%s" % (r, out)
    # What each survivor read before it stopped is still the right data.
    write(uri, 6, first_record=10 * W * 2, producer="q")  # the stream goes on meanwhile
    lakestream.close_stream(uri)
    expected = independent(uri, 16)
    starts = []
    for r in range(W):
        st = tmp_path / ("k-rank%d.json.state" % r)
        starts.append(json.loads(st.read_text())["next_step"] if st.exists() else 0)
    start = min(starts)  # the job's checkpoint: the ranks are in lock step, within a step
    assert start >= 3
    relays = [Relay(server_port(uri)) for _ in range(W)]
    outs = finish(launch(tmp_path, uri, relays, "job", start=start, tag="r"))
    for r, (rc, out) in enumerate(outs):
        assert rc == 0, "rank %d after the restart:\n%s" % (r, out)
        got = json.loads((tmp_path / ("r-rank%d.json" % r)).read_text())
        assert got == expected[r][start:], "rank %d after the restart: bytes differ from an independent read" % r
    assert_fed(relays, [0])
