#!/usr/bin/env python3
"""tests/sinks/test_clickhouse_e2e.py -- the ClickHouse sink against a real clickhouse-server.

Starts one clickhouse-server (scripts/clickhouse_local.py: its own directory, free loopback
ports) for the whole run, then runs clickhouse_logger (tests/sinks/clickhouse_logger.cpp):

  - two processes ("orders" and "inventory") at once, part of their lines in one trace: a
    query by traceId returns every line of that trace from both, in time order (ts_ns,
    sub-second), each process's lines in the order it logged them; rows per process equal
    what its sink says it delivered, nothing dropped, no row twice;
  - a run with bad rows (a layout that makes every 50th row unparsable): exactly those rows
    are missing, counted as dropped; every other row is there;
  - a table that does not exist (create_table off): every line counted as dropped, a clear
    message on stderr, the program ends in bounded time;
  - a server crash in the middle of a run (SIGKILL, start again on the same ports and
    data): distinct rows + the program's counted drops == lines accepted, exactly; a
    batch in flight at the crash may be inserted twice (at least once), never more than
    one batch.

Skipped (exit 77) only when clickhouse-server is not installed.
Usage: test_clickhouse_e2e.py --logger PATH
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import clickhouse_local  # noqa: E402

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
failures = []
SMALL = False  # --small: fewer lines (sanitizer builds)


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def logger(args, ch, *flags, wait=True):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("TSAN_OPTIONS", "halt_on_error=0:exitcode=66")
    p = subprocess.Popen([args.logger, "--port", str(ch.http_port)] + [str(f) for f in flags],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return finish(p) if wait else p


def finish(p, timeout=120):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        failures.append("clickhouse_logger did not finish within %d s" % timeout)
    err = err.decode("utf-8", "replace")
    check(p.returncode == 0, "clickhouse_logger exited with %s:\n%s" % (p.returncode, err[-3000:]))
    check("Sanitizer" not in err and "runtime error" not in err, "sanitizer report:\n" + err[-3000:])
    try:
        r = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        failures.append("clickhouse_logger printed no result: %r\n%s" % (out[-500:], err[-2000:]))
        return {"pid": -1, "accepted": 0, "delivered": 0, "dropped": 0, "buffered": 0}, err
    r["stderr"] = err
    # The sink's own account, and the process-wide one.
    check(r["accepted"] == r["delivered"] + r["dropped"] + r["buffered"], "delivery does not add up: %s" % r)
    check(r["buffered"] == 0 and r["sink_buffered"] == 0, "lines still buffered after shutdown: %s" % r)
    check(r["sink_dropped"] == r["dropped"], "get_stats().sink_dropped %d, the sink's dropped %d" %
          (r["sink_dropped"], r["dropped"]))
    check(r["written"] + r["stats_dropped"] == r["issued"], "get_stats does not add up: %s" % r)
    check(r["accepted"] == r["written"], "the sink took %d lines, the back-end wrote %d" % (r["accepted"], r["written"]))
    return r, err


def count(ch, table, where="1"):
    return int(ch.query("SELECT count() FROM %s WHERE %s" % (table, where)).strip())


def duplicates(ch, table, pid):
    c, u = ch.rows("SELECT count(), uniqExact(seq) FROM %s WHERE pid = %d" % (table, pid))[0]
    return int(c) - int(u)


def trace_across_processes(args, ch):
    n = 300 if SMALL else 2000
    procs = [logger(args, ch, "--table", "logs", "--service", svc, "--lines", n, "--trace", TRACE, "--trace-every", 10,
                    "--sleep-us", 200, wait=False) for svc in ("orders", "inventory")]
    results = [finish(p)[0] for p in procs]
    by_pid = {r["pid"]: r for r in results}
    for r in results:
        check(r["dropped"] == 0, "trace run: %d lines dropped: %s" % (r["dropped"], r))
        rows = count(ch, "logs", "pid = %d" % r["pid"])
        check(rows == r["delivered"], "trace run: %d rows of pid %d, its sink delivered %d" % (rows, r["pid"], r["delivered"]))
        check(r["delivered"] == r["accepted"] and r["accepted"] >= n, "trace run: %s" % r)
        check(duplicates(ch, "logs", r["pid"]) == 0, "trace run: rows twice for pid %d" % r["pid"])
    rows = ch.rows("SELECT service, pid, ts_ns, seq, message, fields FROM logs WHERE traceId = '%s' "
                   "ORDER BY ts_ns, pid, seq" % TRACE)
    want = sum(len(range(0, n, 10)) for _ in results)
    check(len(rows) == want, "by traceId: %d rows, want %d (both processes' every 10th line)" % (len(rows), want))
    check({r[0] for r in rows} == {"orders", "inventory"}, "by traceId: services %s" % {r[0] for r in rows})
    last = 0
    per_process = {}
    for svc, pid, ts_ns, seq, message, fields in rows:
        check(int(ts_ns) >= last, "by traceId: not in time order at %s %s" % (svc, message))
        last = int(ts_ns)
        per_process.setdefault(int(pid), []).append((int(seq), int(message.split()[-1])))
        check(json.loads(fields.replace("\\\\", "\\"))["i"] == int(message.split()[-1]), "fields: %s" % fields)
    for pid, seen in per_process.items():
        check(pid in by_pid, "by traceId: a row of an unknown pid %d" % pid)
        check(seen == sorted(seen) and [i for _, i in seen] == list(range(0, n, 10)),
              "by traceId: pid %d's lines not all there in the order logged" % pid)
    # The two processes' lines interleave in time: the order is the clock's, not the insert's.
    services = [r[0] for r in rows]
    switches = sum(1 for a, b in zip(services, services[1:]) if a != b)
    check(switches > 2, "by traceId: the two processes' lines do not interleave (%d switches)" % switches)
    print("trace: %d rows of trace %s from %d processes in time order, %d switches between them" %
          (len(rows), TRACE, len(per_process), switches))


def bad_rows(args, ch):
    n, every = 1000, 50
    r, err = logger(args, ch, "--table", "logs_bad", "--service", "bad", "--lines", n, "--bad-every", every)
    bad = n // every
    check(r["dropped"] == bad, "bad rows: %d dropped, want %d" % (r["dropped"], bad))
    check(r["delivered"] == r["accepted"] - bad, "bad rows: %s" % r)
    check(count(ch, "logs_bad", "pid = %d" % r["pid"]) == r["delivered"], "bad rows: rows != delivered")
    check(count(ch, "logs_bad", "message LIKE 'BAD%'") == 0, "bad rows: a bad row is in the table")
    got = {int(x[0]) for x in ch.rows("SELECT toInt64(visitParamExtractFloat(fields, 'i')) FROM logs_bad "
                                      "WHERE logger = 'default'")}
    want = {i for i in range(n) if i % every != every - 1}
    check(got == want, "bad rows: %d good rows missing, %d extra" % (len(want - got), len(got - want)))
    check("refused by 127.0.0.1:%d" % ch.http_port in err and "Cannot parse" in err,
          "bad rows: no clear message on stderr: %r" % err[-500:])
    check(err.count("\n") < 10, "bad rows: stderr is not rate-limited: %d lines" % err.count("\n"))
    print("bad rows: %d of %d rows refused and counted, the other %d inserted" % (bad, n, r["delivered"]))


def missing_table(args, ch):
    t0 = time.monotonic()
    r, err = logger(args, ch, "--table", "no_such_table", "--service", "lost", "--lines", 500, "--create-table", 0)
    took = time.monotonic() - t0
    check(r["delivered"] == 0 and r["dropped"] == r["accepted"] and r["accepted"] >= 500, "missing table: %s" % r)
    check("no_such_table" in err and "exist" in err, "missing table: no clear message: %r" % err[-500:])
    check(took < 30, "missing table: the program took %.1f s" % took)
    print("missing table: %d lines counted as dropped in %.1f s; stderr: %s" %
          (r["dropped"], took, err.strip().splitlines()[0][:160] if err.strip() else ""))


def restart(args, ch):
    # A crash (SIGKILL) mid-run, then a start on the same ports and data. A SIGTERM would
    # prove little: clickhouse-server 18.16 goes on serving a kept-alive connection through
    # its graceful shutdown for as long as the client keeps it busy.
    n = 4000
    p = logger(args, ch, "--table", "logs_restart", "--service", "restart", "--lines", n, "--sleep-us", 1000,
               "--drain-ms", 30000, wait=False)
    time.sleep(1.0)
    before = count(ch, "logs_restart") if ch.ping() else 0
    ch.stop(signal.SIGKILL)
    down = time.monotonic()
    time.sleep(0.7)
    ch.start()
    check(p.poll() is None, "restart: the logger ended before the server was back (the test proves nothing)")
    print("restart: server killed, down for %.2f s (%d rows before), started again in %.2f s" %
          (time.monotonic() - down, before, ch.start_seconds))
    r, err = finish(p)
    rows = count(ch, "logs_restart", "pid = %d" % r["pid"])
    twice = duplicates(ch, "logs_restart", r["pid"])
    check(before > 0, "restart: nothing was inserted before the restart")
    # At least once: a batch the server had inserted when it died, before its answer left,
    # is sent again (rows then appear twice, with the same seq). Every line is there once
    # or counted as dropped; a copy is at most one batch (500 lines here).
    check(rows - twice + r["dropped"] == r["accepted"], "restart: %d distinct rows + %d dropped != %d accepted" %
          (rows - twice, r["dropped"], r["accepted"]))
    check(twice <= 500, "restart: %d rows twice, more than one batch" % twice)
    check(r["failures"] > 0, "restart: the sink saw no failed attempt while the server was down")
    print("restart: %d lines accepted, %d rows (%d twice), %d counted drops, %d failed attempts" %
          (r["accepted"], rows, twice, r["dropped"], r["failures"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logger", required=True)
    ap.add_argument("--small", action="store_true", help="fewer lines (sanitizer builds)")
    args = ap.parse_args()
    global SMALL
    SMALL = args.small
    if clickhouse_local.find_binary() is None:
        print("SKIP: clickhouse-server is not installed (scripts/install-deps.sh installs it)")
        return 77
    tmp = tempfile.mkdtemp(prefix="ctxlog-ch-")
    ch = clickhouse_local.server(tmp)
    try:
        ch.start()
        print("clickhouse-server %s started in %.2f s on 127.0.0.1:%d" %
              (ch.query("SELECT version()").strip(), ch.start_seconds, ch.http_port))
        for step in (trace_across_processes, bad_rows, missing_table, restart):
            step(args, ch)
    finally:
        code = ch.stop()
        if failures:
            print(ch.log_tail())
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed:" % len(failures))
        for f in failures[:40]:
            print("  - " + f)
        return 1
    print("all checks passed (server exit %s)" % code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
