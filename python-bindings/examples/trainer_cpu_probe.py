#!/usr/bin/env python3
"""The Lakestream setup of ``colocated_vs_lakestream.py`` alone, ``R`` rounds: steps/s and the
trainer process's CPU per step by thread, to compare two builds of the trainer side.

Run: ``R=3 /usr/bin/python3 python-bindings/examples/trainer_cpu_probe.py --steps 300`` (any option
of the comparison script applies). For a before/after, alternate runs with
``LAKESTREAM_EXAMPLES=<another checkout>/python-bindings/examples``: the comparison script is then
imported from there, and it reads with that checkout's build (``import_lakestream`` uses its ``src``).
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("LAKESTREAM_EXAMPLES", HERE))
import colocated_vs_lakestream as c  # noqa: E402


def main():
    a = c.parse_args(sys.argv[1:])
    a.workdir = tempfile.mkdtemp(prefix="lakestream-trainer-probe-")
    c.prepare(a)
    for r in range(int(os.environ.get("R", "1"))):
        res = c.run_lakestream(a, "s%d" % r)
        t = res["trainer_thread_cpu_ms_per_step"]
        main_ms = t.get("python (main)", 0.0)
        print("round %d: %.2f steps/s, stall %.0f%%, trainer %.1f ms/step (main thread %.1f, other threads %.1f), "
              "producers %.1f ms/step, load %.2f" % (
                  r, res["steps_per_s"], 100 * res["stall_share"], 1000 * res["trainer_cpu"] / res["steps_per_s"],
                  main_ms, sum(t.values()) - main_ms, res["prep_cpu_ms_per_step"], os.getloadavg()[0]), flush=True)
        print("    warm-up %s steps (JIT quiet: %s), JIT compiling %s ms per measured step" % (
            res.get("warmup_steps"), res.get("jit_quiet_at_measure"), res.get("jit_compile_ms_per_step")), flush=True)
        print("   ", t, flush=True)


if __name__ == "__main__":
    main()
