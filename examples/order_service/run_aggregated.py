#!/usr/bin/env python3
"""examples/order_service/run_aggregated.py -- what `make demo-aggregated` runs.

The two-service order demo with its lines in ClickHouse: starts a throwaway
clickhouse-server on 127.0.0.1 (scripts/clickhouse_local.py, everything under OUT/clickhouse),
runs the inventory and order services with `--clickhouse 127.0.0.1:PORT` (each also keeps
its JSON log file), sends a burst of orders, stops the services (each delivers what its
sink still holds), then asks ClickHouse for one order's lines across both services in
time order and for the lines per service, and stops the server.

Usage: run_aggregated.py [--bin DIR] [--out DIR] [--keep]   (--keep: leave the server running)
"""
import argparse
import concurrent.futures
import datetime
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
sys.path.insert(0, HERE)
import clickhouse_local  # noqa: E402
import run_demo  # noqa: E402  (start, stop, post, order)

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def when(ts_ns):
    t = datetime.datetime.fromtimestamp(ts_ns // 1000000000, tz=datetime.timezone.utc)
    return "%s.%06d" % (t.strftime("%H:%M:%S"), ts_ns % 1000000000 // 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "examples", "order_service"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "build", "order_demo_aggregated"))
    ap.add_argument("--keep", action="store_true", help="leave clickhouse-server running at the end")
    args = ap.parse_args()
    if clickhouse_local.find_binary() is None:
        sys.exit("clickhouse-server is not installed: run ./scripts/install-deps.sh (as root) first")
    out = os.path.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)

    ch = clickhouse_local.server(os.path.join(out, "clickhouse"))
    ch.start()
    try:
        run(args, out, ch)
    finally:
        if not args.keep:
            ch.stop()
            print("clickhouse-server stopped")


def run(args, out, ch):
    print("started clickhouse-server %s on 127.0.0.1:%d in %.2f s (data in %s)" %
          (ch.query("SELECT version()").strip(), ch.http_port, ch.start_seconds, ch.dir))
    target = ["--clickhouse", "127.0.0.1:%d" % ch.http_port]
    procs = []
    try:
        db = {n: os.path.join(out, n + ".db") for n in ("inventory", "orders", "audit")}
        inventory, inv_port, _ = run_demo.start("inventory", [
            os.path.join(args.bin, "inventory"), "--db", db["inventory"], "--stock", "A1=100,B2=3"] + target, out)
        procs.append(inventory)
        orders, port, _ = run_demo.start("orders", [
            os.path.join(args.bin, "orders"), "--db", db["orders"], "--audit-db", db["audit"],
            "--inventory-port", str(inv_port)] + target, out)
        procs.append(orders)

        jobs = [(port, run_demo.order("c-%d" % i, "A1", 1 + i % 3)) for i in range(8)]
        jobs += [(port, run_demo.order("c-b%d" % i, "B2", 1)) for i in range(5)]
        jobs += [(port, run_demo.order("c-9", "A1", 0))]
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda j: run_demo.post(*j), jobs))
        traced = run_demo.post(port, run_demo.order("c-t", "B2", 1),
                               {"traceparent": "00-%s-00f067aa0ba902b7-01" % CALLER_TRACE, "X-Request-Id": "caller-req-1"})
        answers.append(traced)
        print("sent %d orders: %s" % (len(answers), ", ".join(
            "%d x %d" % (sum(1 for a in answers if a[0] == s), s) for s in sorted({a[0] for a in answers}))))
    finally:
        for p in reversed(procs):
            run_demo.stop(p)  # SIGTERM: each service flushes, its sink delivers what it holds
    print("services stopped\n")

    print("---- the order that came with traceparent %s, across both services, in time order ----" % CALLER_TRACE)
    print("SELECT ts_ns, service, level, spanId, parentSpanId, message FROM logs\n"
          "WHERE traceId = '%s' ORDER BY ts_ns, host, pid, seq\n" % CALLER_TRACE)
    rows = ch.rows("SELECT ts_ns, service, level, spanId, parentSpanId, message FROM logs WHERE traceId = '%s' "
                   "ORDER BY ts_ns, host, pid, seq" % CALLER_TRACE)
    print("%-15s  %-9s  %-5s  %-16s  %-16s  %s" % ("time (UTC)", "service", "level", "spanId", "parentSpanId", "message"))
    for ts_ns, service, level, span, parent, message in rows:
        print("%-15s  %-9s  %-5s  %-16s  %-16s  %s" % (when(int(ts_ns)), service, level, span, parent, message[:70]))

    print("\n---- lines per service ----")
    per_service = ("SELECT service, count(), countIf(traceId != ''), uniqExactIf(traceId, traceId != '') FROM logs "
                   "GROUP BY service ORDER BY service")
    print(per_service + "\n")
    files = {}
    for name in ("orders", "inventory"):
        with open(os.path.join(out, name + ".log"), encoding="utf-8") as f:
            files[name] = sum(1 for line in f if line.strip())
    print("%-9s  %6s  %8s  %6s  %s" % ("service", "lines", "traced", "traces", "lines in its log file"))
    for service, n, traced_n, traces in ch.rows(per_service):
        print("%-9s  %6s  %8s  %6s  %s" % (service, n, traced_n, traces, files.get(service, "?")))
    print("\nfiles: %s/{orders.log,inventory.log}; the server's data: %s" % (out, ch.dir))
    if args.keep:
        print("clickhouse-server keeps running (pid %d): curl '%s'" %
              (ch.proc.pid, ch.url("SELECT service, message FROM logs ORDER BY ts_ns LIMIT 10")))


if __name__ == "__main__":
    main()
