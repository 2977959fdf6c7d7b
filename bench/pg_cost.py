#!/usr/bin/env python3
"""What one [postgres] collection costs, against a throwaway local server.

  bench/pg_cost.py [RUNS]        (from the source tree, after `make check`
                                  built build/tests/pg_probe; or set PG_PROBE)

Starts a server with 8 databases and 20 idle client sessions, then runs the
collector engine (tests/pg_probe) RUNS times (default 500) on one kept
connection, with pg_stat_statements off and on, and prints per run: samples,
round trips, wall time (median, p95), the collector's CPU time (median) and
the CPU time of the server backend that answers it (from /proc, in 10 ms
ticks, averaged over the runs)."""
import os
import statistics
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, os.path.join(TOP, "tests"))
os.environ.setdefault("PG_PROBE", os.path.join(TOP, "build", "tests", "pg_probe"))

import pgserver                # noqa: E402
from test_postgres import Probe  # noqa: E402


def ticks(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    s = pgserver.PgServer(settings={"shared_preload_libraries": "pg_stat_statements",
                                    "max_connections": 100})
    sessions = []
    try:
        for i in range(5):
            s.psql(f"CREATE DATABASE db{i}")
        s.psql("CREATE EXTENSION pg_stat_statements")
        sessions = [s.session(f"bench-{i}", f"db{i % 5}") for i in range(20)]
        time.sleep(1)
        for args, label in ((["-S"], "statements = no "), ([], "statements = yes")):
            p = Probe(s.conninfo(), "-b", "0", *args)
            first = p.run()
            pid = int(s.psql("SELECT pid FROM pg_stat_activity "
                             "WHERE application_name = 'monitord'"))
            t0 = ticks(pid)
            runs = [p.run() for _ in range(n)]
            t1 = ticks(pid)
            p.close()
            wall = sorted(int(r.end["wall_us"]) for r in runs)
            cpu = [int(r.end["cpu_us"]) for r in runs]
            print(f"{label}: first run (connect, sizes) {int(first.end['wall_us']) / 1000:.1f} ms "
                  f"wall, {first.round_trips} round trip(s); then per run: "
                  f"{len(runs[-1].samples)} samples, {runs[-1].round_trips} round trip, "
                  f"wall median {statistics.median(wall) / 1000:.2f} ms "
                  f"p95 {wall[int(n * 0.95)] / 1000:.2f} ms, "
                  f"collector CPU median {statistics.median(cpu)} us, "
                  f"server backend CPU {(t1 - t0) * 10000 / n:.0f} us")
    finally:
        for x in sessions:
            x.close()
        s.destroy()


if __name__ == "__main__":
    main()
