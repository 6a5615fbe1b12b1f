#!/usr/bin/env python3
"""tests/e2e/test_orders_e2e.py -- the two-service order demo end to end.

Starts the inventory and order services (the binaries of this build, sanitized ones in a
sanitizer build) on free ports of 127.0.0.1 with databases and logs in a temporary
directory, sends a burst of concurrent orders (committed, out of stock, invalid, slow,
with and without the caller's traceparent and X-Request-Id, hostile headers), stops the
inventory and sends more, then stops both and checks:

  - every line of both logs is one strict JSON object (unique keys, valid UTF-8), naming
    its service and pid;
  - one traceId per request across both services (the caller's when it sent one), every
    parentSpanId a span of the same trace (or the caller's parent), both services' lines
    for each request that reached the inventory;
  - the order transaction committed or rolled back as a unit (orders.db), an audit row per
    request (audit.db), stock consistent with the committed orders (inventory.db);
  - hostile headers: valid lines, a fresh request id, rejectedHeaders, safe response headers;
  - inventory down: 503, an error line with the request's ids, nothing written;
  - both processes exit 0 on SIGTERM with no sanitizer report.

Usage: test_orders_e2e.py --orders PATH --inventory PATH
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

SAFE_ID = re.compile(r"^[A-Za-z0-9\-_.:/+=@]{1,128}$")
START_STOCK = {"A1": 1000, "B2": 5, "Z9": 0, "SLOW": 50}
TIMEOUT_MS = 1500
SLOW_MS = 4000
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


# ---- processes ------------------------------------------------------------------------

class service:
    """One service process; stop() sends SIGTERM and collects its status."""

    def __init__(self, name, argv, tmp):
        self.name = name
        self.ready = os.path.join(tmp, name + ".port")
        self.log = os.path.join(tmp, name + ".log")
        self.err_path = os.path.join(tmp, name + ".stderr")
        self.err = open(self.err_path, "wb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("TSAN_OPTIONS", "halt_on_error=0:exitcode=66")
        self.proc = subprocess.Popen(argv + ["--port", "0", "--ready-file", self.ready, "--log", self.log],
                                     stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err, env=env)
        self.status = None
        self.port = self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if os.path.exists(self.ready):
                with open(self.ready) as f:
                    return int(f.read())
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d before listening:\n%s" % (self.name, self.proc.returncode,
                                                                                self.stderr()))
            time.sleep(0.02)
        raise RuntimeError(self.name + " did not listen within 30 s")

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.status is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.status = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.status = self.proc.wait()
                failures.append(self.name + " did not stop within 30 s of SIGTERM")
            self.err.close()
        return self.status


# ---- HTTP -------------------------------------------------------------------------------

def post_order(port, body, headers=None):
    """POST /orders with http.client; returns (status, response headers (lower-case), body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request("POST", "/orders", body=body if isinstance(body, bytes) else body.encode(), headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def raw_post_order(port, header_lines, body):
    """POST /orders over a bare socket, for header bytes http.client refuses to send."""
    req = (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n" +
           b"".join(h + b"\r\n" for h in header_lines) + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    raw_names = []
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        raw_names.append(k.strip().lower())
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    return status, headers, rest, raw_names


# ---- the log ------------------------------------------------------------------------------

def strict_object(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("repeated key in " + repr(keys))
    return dict(pairs)


def reject_constant(c):
    raise ValueError("not JSON: " + c)


def read_log(path, svc, pid):
    lines = []
    with open(path, "rb") as f:
        data = f.read()
    check(data.endswith(b"\n"), path + ": does not end in a newline")
    for n, raw in enumerate(data.split(b"\n")[:-1], 1):
        try:
            j = json.loads(raw.decode("utf-8"), object_pairs_hook=strict_object, parse_constant=reject_constant)
        except (ValueError, UnicodeDecodeError) as e:
            failures.append("%s:%d: not one strict JSON object (%s): %r" % (path, n, e, raw[:300]))
            continue
        if not check(isinstance(j, dict), "%s:%d: not an object" % (path, n)):
            continue
        check(j.get("service") == svc, "%s:%d: service %r, want %r" % (path, n, j.get("service"), svc))
        check(j.get("pid") == pid, "%s:%d: pid %r, want %d" % (path, n, j.get("pid"), pid))
        lines.append(j)
    return lines


# ---- the requests ------------------------------------------------------------------------

def order(customer, *items):
    return json.dumps({"customer": customer, "items": [{"sku": s, "qty": q} for s, q in items]})


def make_burst():
    """40 requests: (name, body, headers, expected statuses, items)."""
    reqs = []
    for i in range(14):
        items = [("A1", 1 + i % 3)]
        reqs.append(("ok-%d" % i, order("c-%d" % i, *items), {}, {201}, items))
    for i in range(6):  # B2 has 5: at most two of these commit
        items = [("A1", 1), ("B2", 2)]
        reqs.append(("b2-%d" % i, order("c-b%d" % i, *items), {}, {201, 409}, items))
    for i in range(4):  # Z9 has none: A1 taken first by the inventory must be put back
        items = [("A1", 5), ("Z9", 1)]
        reqs.append(("oos-%d" % i, order("c-z%d" % i, *items), {}, {409}, items))
    invalid = ['{"customer":"c-1","sku":"A1","qty":0}', '{"sku":"A1","qty":1}', "not json",
               '{"customer":"c 1\\"}","sku":"A1","qty":1}', '{"customer":"c-1","items":[]}']
    for i, body in enumerate(invalid):
        reqs.append(("invalid-%d" % i, body, {}, {400}, []))
    for i in range(8):  # the caller's trace and request id
        trace = "%032x" % (0x4bf92f3577b34da6a3ce929d0e0e0000 + i)
        parent = "%016x" % (0x00f067aa0ba90000 + i)
        items = [("A1", 1)]
        hdr = {"traceparent": "00-%s-%s-01" % (trace, parent), "X-Request-Id": "client-req-%d" % i}
        reqs.append(("traced-%d" % i, order("c-t%d" % i, *items), hdr, {201}, items))
    for i in range(2):
        items = [("SLOW", 1)]
        reqs.append(("slow-%d" % i, order("c-s%d" % i, *items), {}, {504}, items))
    bad_tp = {"traceparent": "00-ZZf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    reqs.append(("bad-traceparent", order("c-x", ("A1", 1)), bad_tp, {201}, [("A1", 1)]))
    assert len(reqs) == 40, len(reqs)
    return reqs


HOSTILE = [
    ("quotes", [b'X-Request-Id: "},{"level":"fatal","msg":"forged'], b"x-request-id"),
    ("4k", [b"X-Request-Id: " + b"a" * 4096], b"x-request-id"),
    # Past httplib's 8 KB header line limit: httplib answers 400 itself.
    ("10k", [b"X-Request-Id: " + b"a" * 10240], b"x-request-id"),
    ("crlf", [b"X-Request-Id: evil\r\nX-Injected: yes\r\nX-Request-Id: second"], b"x-request-id"),
    ("bare-cr", [b"X-Request-Id: evil\rX-Injected: yes"], b"x-request-id"),
    ("control", [b"X-Request-Id: ab\x01cd\x7f"], b"x-request-id"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", required=True)
    ap.add_argument("--inventory", required=True)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ctxlog-e2e-")
    services = []
    try:
        run(args, tmp, services)
    finally:
        for s in services:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed:" % len(failures))
        for f in failures[:60]:
            print("  - " + f)
        return 1
    print("all checks passed")
    return 0


def run(args, tmp, services):
    inv_db, orders_db, audit_db = (os.path.join(tmp, n) for n in ("inventory.db", "orders.db", "audit.db"))
    stock = ",".join("%s=%d" % kv for kv in START_STOCK.items())
    inventory = service("inventory", [args.inventory, "--db", inv_db, "--stock", stock, "--slow-sku", "SLOW",
                                      "--slow-ms", str(SLOW_MS)], tmp)
    services.append(inventory)
    orders = service("orders", [args.orders, "--db", orders_db, "--audit-db", audit_db, "--inventory-port",
                                str(inventory.port), "--inventory-timeout-ms", str(TIMEOUT_MS)], tmp)
    services.append(orders)

    # -- phase 0: one order alone. Debian's libcpp-httplib is not built with TSan, which so
    # cannot see the guards of its function-local statics (the set of request methods,
    # ...): two workers that first use one at the same time make a false report. After
    # one request has gone through both services, every later worker takes its task from
    # a queue whose mutex (which TSan does see) the initializing worker released since.
    results = {}
    status, headers, body = post_order(orders.port, order("c-first", ("A1", 1)))
    results["first"] = dict(status=status, headers=headers, body=body, sent={}, want={201}, items=[("A1", 1)])

    # -- phase 1: the burst, 8 at a time
    burst = make_burst()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futs = {pool.submit(post_order, orders.port, body, hdr): (name, body, hdr, want, items)
                for name, body, hdr, want, items in burst}
        hostile = {pool.submit(raw_post_order, orders.port, lines, order("c-h", ("A1", 1)).encode()): (name, lines)
                   for name, lines, _ in HOSTILE}
        for f, (name, body, hdr, want, items) in futs.items():
            status, headers, rbody = f.result()
            results[name] = dict(status=status, headers=headers, body=rbody, sent=hdr, want=want, items=items)
        hostile_results = {name: f.result() for f, (name, _) in hostile.items()}

    for name, r in results.items():
        check(r["status"] in r["want"], "%s: status %d, want %s: %r" % (name, r["status"], r["want"], r["body"][:200]))
        rid = r["headers"].get("x-request-id", "")
        check(SAFE_ID.match(rid) is not None, "%s: response X-Request-Id %r" % (name, rid))
        r["requestId"] = rid
        if "X-Request-Id" in r["sent"]:
            check(rid == r["sent"]["X-Request-Id"], "%s: X-Request-Id %r not echoed (got %r)" %
                  (name, r["sent"]["X-Request-Id"], rid))
        try:
            r["json"] = json.loads(r["body"])
        except ValueError:
            failures.append("%s: response body is not JSON: %r" % (name, r["body"][:200]))
            r["json"] = {}
        check(r["json"].get("requestId") == rid, "%s: body requestId %r, header %r" % (name, r["json"].get("requestId"), rid))
    b2_committed = [n for n, r in results.items() if n.startswith("b2-") and r["status"] == 201]
    check(len(b2_committed) == START_STOCK["B2"] // 2, "B2: %d orders committed, want %d" % (len(b2_committed), START_STOCK["B2"] // 2))

    for name, (status, headers, body, raw_names) in hostile_results.items():
        rid = headers.get("x-request-id", "")
        check(status in (201, 400), "hostile %s: status %d" % (name, status))
        print("hostile %s: %d, X-Request-Id %r" % (name, status, rid[:40]))
        check(b"x-injected" not in raw_names, "hostile %s: injected header came back" % name)
        check(raw_names.count(b"x-request-id") <= 1, "hostile %s: X-Request-Id twice in the response" % name)
        check(SAFE_ID.match(rid) is not None and "evil" not in rid,
              "hostile %s: response X-Request-Id %r is not a fresh one" % (name, rid))
        if status == 201:
            results["hostile-" + name] = dict(status=status, headers=headers, body=body, sent={}, want={201},
                                              items=[("A1", 1)], requestId=rid, json=json.loads(body), hostile=True)
        else:  # refused by httplib before any handler: an access line, no audit row
            results["hostile-" + name] = dict(status=status, headers=headers, body=body, sent={}, want={400},
                                              items=[], requestId=rid, json={}, hostile=True, refused=True)

    # -- phase 2: the inventory goes away; orders must answer 503 and write nothing
    inv_status = inventory.stop()
    for i in range(2):
        items = [("A1", 1)]
        status, headers, body = post_order(orders.port, order("c-d%d" % i, *items))
        results["down-%d" % i] = dict(status=status, headers=headers, body=body, sent={}, want={503}, items=items,
                                      requestId=headers.get("x-request-id", ""), json=json.loads(body or b"{}"))
        check(status == 503, "down-%d: status %d, want 503" % (i, status))
    orders_status = orders.stop()

    for s, st in ((inventory, inv_status), (orders, orders_status)):
        err = s.stderr()
        check(st == 0, "%s exited with %s:\n%s" % (s.name, st, err[-3000:]))
        check("Sanitizer" not in err and "runtime error" not in err, "%s: sanitizer report:\n%s" % (s.name, err[-3000:]))

    check_logs(results, read_log(orders.log, "orders", orders.proc.pid),
               read_log(inventory.log, "inventory", inventory.proc.pid))
    check_databases(results, orders_db, audit_db, inv_db)


def check_logs(results, orders_lines, inventory_lines):
    by_request = {}
    for svc, lines in (("orders", orders_lines), ("inventory", inventory_lines)):
        for j in lines:
            if "requestId" in j:
                by_request.setdefault(j["requestId"], []).append((svc, j))
    trace_owner = {}
    for name, r in results.items():
        rid = r["requestId"]
        lines = by_request.get(rid, [])
        if not check(lines, "%s: no line carries requestId %r" % (name, rid)):
            continue
        traces = {j.get("traceId") for _, j in lines}
        if not check(len(traces) == 1 and None not in traces, "%s: traceIds %s" % (name, traces)):
            continue
        trace = traces.pop()
        check(trace_owner.setdefault(trace, name) == name, "%s: shares traceId %s with %s" % (name, trace, trace_owner[trace]))
        if not r.get("refused"):
            check(r["json"].get("traceId") == trace, "%s: body traceId %r, log %r" % (name, r["json"].get("traceId"), trace))
        caller_parent = None
        if "traceparent" in r["sent"] and not name.startswith("bad-"):
            _, want_trace, caller_parent, _ = r["sent"]["traceparent"].split("-")
            check(trace == want_trace, "%s: traceId %s, the caller sent %s" % (name, trace, want_trace))
        services = {svc for svc, _ in lines}
        reached = r["status"] in (201, 409, 504)
        want_services = {"orders", "inventory"} if reached else {"orders"}
        check(services == want_services, "%s (%d): lines from %s, want %s" % (name, r["status"], services, want_services))

        # Spans: the ids of the lines that end a span (span.hpp's end lines, access lines).
        span_ids = {j["spanId"] for _, j in lines if "spanKind" in j and "spanId" in j}
        server_spans = [j for svc, j in lines if svc == "orders" and j.get("spanKind") == "server"]
        check(len(server_spans) == 1, "%s: %d orders server spans" % (name, len(server_spans)))
        for svc, j in lines:
            check(j.get("spanId") in span_ids, "%s: %s line %r has spanId %r, not a span of the trace" %
                  (name, svc, j.get("msg"), j.get("spanId")))
            p = j.get("parentSpanId")
            if p is not None:
                check(p in span_ids or (p == caller_parent and caller_parent is not None),
                      "%s: %s line %r: parentSpanId %r is no span of the trace" % (name, svc, j.get("msg"), p))
        for j in server_spans:
            check(j.get("parentSpanId") == caller_parent,
                  "%s: server span's parent %r, the caller's %r" % (name, j.get("parentSpanId"), caller_parent))
        if (r.get("hostile") and not r.get("refused")) or name.startswith("bad-"):
            # The orders service's lines: the rejection is where the header came in.
            rejected = {j.get("rejectedHeaders", "") for svc, j in lines if svc == "orders"}
            want = "traceparent" if name.startswith("bad-") else "x-request-id"
            check(all(want in x.split(",") for x in rejected), "%s: rejectedHeaders %s" % (name, rejected))
        if r["status"] == 503:
            errors = [j for svc, j in lines if svc == "orders" and j.get("level") == "error" and j.get("traceId")]
            check(errors, "%s: no error line with the request's ids" % name)
    # The hostile values never reach a line.
    for svc, lines in (("orders", orders_lines), ("inventory", inventory_lines)):
        for j in lines:
            text = json.dumps(j)
            check("forged" not in text and "evil" not in text and "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" not in text,
                  "%s: a hostile header value reached a line: %s" % (svc, text[:300]))


def check_databases(results, orders_db, audit_db, inv_db):
    o = sqlite3.connect(orders_db)
    a = sqlite3.connect(audit_db)
    inv = sqlite3.connect(inv_db)
    want_outcome = {201: "committed", 409: "out_of_stock", 400: "invalid", 503: "inventory_unavailable",
                    504: "inventory_timeout"}
    committed = 0
    taken = {}
    for name, r in results.items():
        rid = r["requestId"]
        rows = o.execute("SELECT id, status FROM orders WHERE request_id = ?", (rid,)).fetchall()
        if r["status"] == 201:
            committed += 1
            if check(len(rows) == 1 and rows[0][1] == "confirmed", "%s: orders rows %s" % (name, rows)):
                check(rows[0][0] == r["json"].get("orderId"), "%s: order id %s, answered %s" % (name, rows[0][0], r["json"].get("orderId")))
                items = sorted(o.execute("SELECT sku, qty FROM order_items WHERE order_id = ?", (rows[0][0],)).fetchall())
                check(items == sorted(r["items"]), "%s: items %s, sent %s" % (name, items, r["items"]))
            for sku, qty in r["items"]:
                taken[sku] = taken.get(sku, 0) + qty
        else:
            check(not rows, "%s (%d): rolled back, but orders has %s" % (name, r["status"], rows))
        if r["status"] == 504:  # the inventory reserved after the caller gave up
            for sku, qty in r["items"]:
                taken[sku] = taken.get(sku, 0) + qty
        audits = a.execute("SELECT outcome, order_id FROM audit WHERE request_id = ?", (rid,)).fetchall()
        if r.get("refused"):
            check(not audits, "%s: refused by httplib, yet audited: %s" % (name, audits))
            continue
        want = want_outcome.get(r["status"])
        check(len(audits) == 1 and audits[0][0] == want, "%s: audit rows %s, want one %r" % (name, audits, want))
        if audits and r["status"] == 201:
            check(audits[0][1] == r["json"].get("orderId"), "%s: audit order id %s" % (name, audits[0][1]))
    check(o.execute("SELECT count(*) FROM orders").fetchone()[0] == committed, "orders: row count is not the committed count")
    orphans = o.execute("SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)").fetchone()[0]
    check(orphans == 0, "order_items: %d rows of rolled-back orders" % orphans)
    for sku, start in START_STOCK.items():
        left = inv.execute("SELECT available FROM stock WHERE sku = ?", (sku,)).fetchone()[0]
        check(left == start - taken.get(sku, 0), "stock %s: %d left, want %d" % (sku, left, start - taken.get(sku, 0)))
    for c in (o, a, inv):
        c.close()


if __name__ == "__main__":
    sys.exit(main())
