"""Fixtures for the lakestream Python tests.

JPype can start one JVM per process, so the whole pytest process shares one (the ``jvm``
fixture starts it, building the jar first if it is missing); tests that need a fresh JVM (kill
tests, fork/spawn, the example) run subprocesses.
"""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BINDINGS = os.path.dirname(HERE)
REPO = os.path.dirname(BINDINGS)
SRC = os.path.join(BINDINGS, "src")

# Test the sources in this checkout (not some other installed copy) unless asked otherwise.
if os.environ.get("LAKESTREAM_TEST_INSTALLED") != "1" and SRC not in sys.path:
    sys.path.insert(0, SRC)
os.environ.setdefault("PYTHONPATH", "")
os.environ["PYTHONPATH"] = SRC + (os.pathsep + os.environ["PYTHONPATH"] if os.environ["PYTHONPATH"] else "")

import lakestream  # noqa: E402


@pytest.fixture(scope="session")
def jvm():
    """Starts the in-process JVM once (building loader-java/s3/target/lakestream-s3.jar if missing)."""
    return lakestream.ensure_jvm()


@pytest.fixture
def uri(tmp_path):
    return "file://" + str(tmp_path / "stream")


def tokens_for(ids, seq_len):
    """Deterministic tokens of records ``ids``: (id * 31 + j) % 50257."""
    ids = np.asarray(ids, dtype=np.int64)
    return ((ids[:, None] * 31 + np.arange(seq_len)[None, :]) % 50257).astype(np.int32)


def write_stream(uri, world_size, steps, micro_batch=4, seq_len=8, producer="py", first_record=0, lz4=False):
    """Writes ``steps`` global batches; record ids are consecutive from ``first_record``.

    Returns the record ids per step as a list of lists (rank shards back to back).
    """
    out = []
    rid = first_record
    with lakestream.Producer(uri, producer, world_size, lz4=lz4) as p:
        for _ in range(steps):
            shards = []
            ids_step = []
            for _r in range(world_size):
                ids = np.arange(rid, rid + micro_batch, dtype=np.int64)
                rid += micro_batch
                shards.append({"tokens": tokens_for(ids, seq_len), "record_id": ids})
                ids_step.extend(ids.tolist())
            p.append(shards, cursor="next=%d" % rid)
            out.append(ids_step)
    return out


def python_env():
    """Environment for subprocesses that import lakestream from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def free_port():
    """A rendezvous port for a gloo job: below Linux's ephemeral range (32768 and up, where the S3
    server's, the relays' and every client socket's ports come from, so none of them can take it
    meanwhile), and free now. A port derived from the pid once landed on a port in use: rank 0's
    store failed and the other ranks waited for it until the test's deadline."""
    import random
    import socket
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def rank_env(rank, world_size, per_node, port):
    """python_env() for rank ``rank`` of a gloo job on 127.0.0.1:``port`` whose nodes have
    ``per_node`` ranks, as torchrun sets it (env:// rendezvous, LOCAL_RANK/LOCAL_WORLD_SIZE)."""
    env = python_env()
    env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size),
               LOCAL_RANK=str(rank % per_node), LOCAL_WORLD_SIZE=str(per_node))
    return env
