#!/usr/bin/env python3
"""examples/order_service/run_demo.py -- what `make demo` runs.

Starts the inventory and order services on free ports of 127.0.0.1, each logging JSON
lines to its own file, sends a burst of concurrent orders (some commit, some run out of
stock, some are invalid, one is slow enough to time out, one carries the caller's
traceparent and X-Request-Id, one a hostile X-Request-Id), stops the inventory and sends
one more (503), stops both, then prints the two logs merged by time and a summary.

The files stay in OUT (default build/order_demo/) for jq: merged.log, orders.db, audit.db.

Usage: run_demo.py [--bin DIR] [--out DIR] [--quiet]
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time


def start(name, argv, out):
    ready = os.path.join(out, name + ".port")
    log = os.path.join(out, name + ".log")
    err = open(os.path.join(out, name + ".stderr"), "wb")
    proc = subprocess.Popen(argv + ["--port", "0", "--ready-file", ready, "--log", log],
                            stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    deadline = time.monotonic() + 20
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err.close()
            with open(err.name, "rb") as f:
                sys.exit("%s did not start:\n%s" % (name, f.read().decode("utf-8", "replace")))
        time.sleep(0.02)
    with open(ready) as f:
        port = int(f.read())
    print("started %-9s pid %-7d on 127.0.0.1:%d" % (name, proc.pid, port))
    return proc, port, log


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def post(port, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request("POST", "/orders", body=body.encode(), headers=h)
        r = conn.getresponse()
        return r.status, r.getheader("X-Request-Id"), r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def post_raw(port, header, body):
    """For a header http.client would refuse to send."""
    b = body.encode()
    req = (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
           b"Content-Type: application/json\r\n" + header + b"\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(req)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    rid = next((l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("x-request-id:")), None)
    return int(lines[0].split()[1]), rid, rest.decode("utf-8", "replace")


def order(customer, sku, qty):
    return json.dumps({"customer": customer, "sku": sku, "qty": qty})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(here, "..", "..", "build", "examples", "order_service"),
                    help="directory of the orders and inventory binaries")
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "build", "order_demo"),
                    help="where the logs and databases go (emptied first)")
    ap.add_argument("--quiet", action="store_true", help="the summary only, not every line")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    db = {n: os.path.join(out, n + ".db") for n in ("inventory", "orders", "audit")}

    inventory, inv_port, inv_log = start("inventory", [
        os.path.join(args.bin, "inventory"), "--db", db["inventory"], "--stock", "A1=100,B2=3,C3=10",
        "--slow-sku", "C3", "--slow-ms", "1500"], out)
    orders, port, orders_log = start("orders", [
        os.path.join(args.bin, "orders"), "--db", db["orders"], "--audit-db", db["audit"],
        "--inventory-port", str(inv_port), "--inventory-timeout-ms", "500"], out)

    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    jobs = [("order %d x A1" % (1 + i % 3), post, (port, order("c-%d" % i, "A1", 1 + i % 3))) for i in range(8)]
    jobs += [("order 1 x B2 (3 in stock)", post, (port, order("c-b%d" % i, "B2", 1))) for i in range(5)]
    jobs += [("invalid: qty 0", post, (port, order("c-9", "A1", 0))),
             ("invalid: not JSON", post, (port, "{oops")),
             ("order 1 x C3 (slow inventory)", post, (port, order("c-slow", "C3", 1))),
             ("with the caller's trace", post, (port, order("c-t", "A1", 1),
                                                {"traceparent": "00-%s-00f067aa0ba902b7-01" % caller_trace,
                                                 "X-Request-Id": "caller-req-1"})),
             ("hostile X-Request-Id", post_raw, (port, b'X-Request-Id: x"},{"level":"fatal', order("c-h", "A1", 1)))]
    print("\nsending %d requests, 8 at a time" % len(jobs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futs = [(what, pool.submit(fn, *a)) for what, fn, a in jobs]
        answers = [(what,) + f.result() for what, f in futs]

    stop(inventory)
    print("inventory stopped")
    answers.append(("inventory down",) + post(port, order("c-d", "A1", 1)))
    stop(orders)

    for what, status, rid, body in answers:
        print("  %-32s -> %d  requestId %-38s %s" % (what, status, rid, body[:90]))

    # The lines as the services wrote them, ordered by their timestamps (RFC 3339 UTC with
    # one precision: they sort as strings; the sort is stable within one service's file).
    raw = []
    for path in (orders_log, inv_log):
        with open(path, encoding="utf-8") as f:
            raw += [l for l in f if l.strip()]
    lines = [json.loads(l) for l in raw]
    order_by_ts = sorted(range(len(raw)), key=lambda i: lines[i]["ts"])
    merged = os.path.join(out, "merged.log")
    with open(merged, "w", encoding="utf-8") as f:
        f.writelines(raw[i] for i in order_by_ts)
    if not args.quiet:
        print("\n---- %d lines of both services, merged by time ----" % len(lines))
        with open(merged) as f:
            sys.stdout.write(f.read())

    o = sqlite3.connect(db["orders"])
    a = sqlite3.connect(db["audit"])
    committed = o.execute("SELECT count(*) FROM orders WHERE status = 'confirmed'").fetchone()[0]
    items = o.execute("SELECT count(*) FROM order_items").fetchone()[0]
    audit = a.execute("SELECT outcome, count(*) FROM audit GROUP BY outcome ORDER BY outcome").fetchall()
    rolled_back = sum(n for outcome, n in audit if outcome not in ("committed", "invalid"))
    refused = [rid for _, status, rid, _ in answers if status != 201]
    left = sum(o.execute("SELECT count(*) FROM orders WHERE request_id = ?", (rid,)).fetchone()[0] for rid in refused)
    print("\n---- summary ----")
    print("requests:      %d (%s)" % (len(answers), ", ".join(
        "%d x %d" % (n, s) for s, n in sorted({s: sum(1 for x in answers if x[1] == s) for _, s, _, _ in answers}.items()))))
    print("orders.db:     %d orders committed (%d items); %d rolled back, %d rows of requests not answered 201" %
          (committed, items, rolled_back, left))
    print("audit.db:      %d rows: %s" % (sum(n for _, n in audit), ", ".join("%s %d" % r for r in audit)))
    print("log lines:     %d orders, %d inventory" % (sum(1 for j in lines if j.get("service") == "orders"),
                                                     sum(1 for j in lines if j.get("service") == "inventory")))
    print("files:         %s/{merged.log,orders.log,inventory.log,orders.db,audit.db,inventory.db}" % out)
    print("\nfollow the request that came with its own trace across both services:")
    print("  jq -c 'select(.traceId==\"%s\") | {service, msg, spanId, parentSpanId}' %s" % (caller_trace, merged))


if __name__ == "__main__":
    main()
