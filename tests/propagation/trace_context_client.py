#!/usr/bin/env python3
"""Conformance check for examples/trace_context_service, modelled on the W3C Trace Context
test suite (github.com/w3c/trace-context, test/): this script is the harness. It starts
the service on a free port, listens for the service's callbacks on another free port,
sends each case's headers to POST /test and asserts on the headers the callbacks carry.

Standard library only (the public suite needs aiohttp). Usage:
  trace_context_client.py <path to trace_context_service>
Exit status 0 when every case passes; the service's log (stderr, JSON lines) is printed
on failure and every line of it must parse as one JSON object.
"""
import http.client
import http.server
import json
import re
import subprocess
import sys
import tempfile
import threading
import uuid

TRACE = "12345678901234567890123456789012"
PARENT = "1234567890123456"
TP = "00-%s-%s-01" % (TRACE, PARENT)
TP_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class Harness(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), CallbackHandler)
        self.lock = threading.Lock()
        self.calls = {}  # path -> list of (name, value) headers as received


class CallbackHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.calls[self.path] = (list(self.headers.items()), body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def values(headers, name):
    return [v for k, v in headers if k.lower() == name]


class Run:
    def __init__(self, service_port, harness):
        self.service_port = service_port
        self.harness = harness
        self.failures = 0
        self.cases = 0

    def send(self, headers, count=1):
        """Sends one POST /test; returns (callback headers per step, response)."""
        base = "http://127.0.0.1:%d/callback/%s" % (self.harness.server_address[1], uuid.uuid4().hex)
        steps = [{"url": "%s.%d" % (base, i), "arguments": [i]} for i in range(count)]
        conn = http.client.HTTPConnection("127.0.0.1", self.service_port, timeout=10)
        body = json.dumps(steps).encode()
        conn.putrequest("POST", "/test")
        for k, v in headers:
            conn.putheader(k, v)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        res = conn.getresponse()
        res.read()
        conn.close()
        # The service answers after its callbacks, so they have all arrived by now.
        out = []
        with self.harness.lock:
            for s in steps:
                path = s["url"][s["url"].index("/callback/"):]
                out.append(self.harness.calls.get(path))
        return out, res

    def case(self, name, fn):
        self.cases += 1
        try:
            fn()
            print("ok %d - %s" % (self.cases, name))
        except AssertionError as e:
            self.failures += 1
            print("not ok %d - %s: %s" % (self.cases, name, e))

    def one(self, headers):
        """The single callback's (trace id, parent id, flags, tracestate list, headers)."""
        calls, res = self.send(headers)
        assert res.status == 200, "service answered %d" % res.status
        assert calls[0] is not None, "no callback"
        h, body = calls[0]
        assert json.loads(body) == [0], "callback body %r" % body
        tps = values(h, "traceparent")
        assert len(tps) == 1, "expected one traceparent, got %r" % tps
        m = TP_RE.match(tps[0])
        assert m, "malformed traceparent %r" % tps[0]
        state = ",".join(values(h, "tracestate"))
        members = [x.strip() for x in state.split(",") if x.strip()]
        return m.group(1), m.group(2), m.group(3), members, h


def main():
    service = sys.argv[1]
    harness = Harness()
    threading.Thread(target=harness.serve_forever, daemon=True).start()
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([service, "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r":(\d+)$", line.strip())
        if not m:
            print("service did not report its port: %r" % line)
            return 1
        run = Run(int(m.group(1)), harness)
        cases(run)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        harness.shutdown()
    log.seek(0)
    lines = log.read().splitlines()
    bad = 0
    access = 0
    for l in lines:
        try:
            j = json.loads(l)
            assert isinstance(j, dict)
            access += j.get("spanKind") == "server"
        except (ValueError, AssertionError):
            bad += 1
            print("service log line is not one JSON object: %r" % l)
    if access < run.cases:
        print("expected at least %d access lines, found %d" % (run.cases, access))
        bad += 1
    if run.failures or bad:
        print("--- service log ---")
        print("\n".join(lines))
        return 1
    print("1..%d" % run.cases)
    return 0


def cases(run):
    def restarts(tp, extra=()):
        def check():
            t, p, _, members, _ = run.one([("traceparent", tp), ("tracestate", "foo=1")] + list(extra))
            assert t != TRACE and t != "0" * 32, "trace not restarted: %s" % t
            assert members == [], "tracestate kept with an invalid traceparent: %r" % members
        return check

    def continues(tp, flags_out="01"):
        def check():
            t, p, f, _, _ = run.one([("traceparent", tp)])
            assert t == TRACE, "trace id %s" % t
            assert p != PARENT, "parent id not replaced"
            assert f == flags_out, "flags %s, expected %s" % (f, flags_out)
        return check

    def no_headers():
        t, _, _, members, _ = run.one([])
        assert t != "0" * 32 and members == []

    run.case("no trace headers: a new valid traceparent", no_headers)
    run.case("valid traceparent: same trace id, new parent id", continues(TP))
    run.case("TrAcEpArEnT is a traceparent", lambda: check_name(run, "TrAcEpArEnT"))
    run.case("flags 00 are passed on", continues(TP[:-2] + "00", "00"))
    run.case("flags 03 (sampled, random) are passed on", continues(TP[:-2] + "03", "03"))
    run.case("unknown flags are zeroed", continues(TP[:-2] + "ff", "03"))
    run.case("future version with extra fields: accepted, sent as 00",
             continues("cc-%s-%s-01-what-the-future-will-be-like" % (TRACE, PARENT)))
    run.case("OWS around the traceparent is ignored", continues(" \t" + TP + " \t"))
    bad = {
        "trace id too short": "00-%s-%s-01" % (TRACE[:-1], PARENT),
        "trace id too long": "00-%s3-%s-01" % (TRACE, PARENT),
        "parent id too short": "00-%s-%s-01" % (TRACE, PARENT[:-1]),
        "parent id too long": "00-%s-%s7-01" % (TRACE, PARENT),
        "upper-case hex": "00-%s-%s-01" % ("ABCDEF" + TRACE[6:], PARENT),
        "version ff": "ff-%s-%s-01" % (TRACE, PARENT),
        "version too long": "000-%s-%s-01" % (TRACE, PARENT),
        "all-zero trace id": "00-%s-%s-01" % ("0" * 32, PARENT),
        "all-zero parent id": "00-%s-%s-01" % (TRACE, "0" * 16),
        "illegal flag characters": "00-%s-%s-.0" % (TRACE, PARENT),
        "version 00 with extra fields": TP + "-what-the-future-will-be-like",
        "future version, bad separator": "cc-%s-%s-01.what" % (TRACE, PARENT),
        "garbage": "hello world",
    }
    for name, tp in bad.items():
        run.case("invalid traceparent (%s): trace restarted, tracestate dropped" % name, restarts(tp))
    run.case("two traceparent headers: trace restarted",
             restarts(TP, [("traceparent", "00-%s-%s-01" % (TRACE[:-1] + "1", PARENT))]))

    def state(lines, expected):
        def check():
            t, _, _, members, _ = run.one([("traceparent", TP)] + [("tracestate", l) for l in lines])
            assert t == TRACE
            assert members == expected, "tracestate %r, expected %r" % (members, expected)
        return check

    run.case("valid tracestate passed on", state(["foo=1,bar=2"], ["foo=1", "bar=2"]))
    run.case("several tracestate lines combined", state(["foo=1", "bar=2"], ["foo=1", "bar=2"]))
    run.case("tenant@system keys and empty members", state(["t@sys=x, ,rojo=00f067aa0ba902b7"], ["t@sys=x", "rojo=00f067aa0ba902b7"]))
    run.case("33 tracestate members: dropped", state([",".join("k%d=v" % i for i in range(33))], []))
    run.case("32 tracestate members: kept", state([",".join("k%d=v" % i for i in range(32))], ["k%d=v" % i for i in range(32)]))
    run.case("duplicate tracestate keys: dropped", state(["foo=1,foo=2"], []))
    run.case("bad tracestate key: dropped", state(["FOO=1"], []))
    run.case("bad tracestate value: dropped", state(["foo=a=b"], []))
    run.case("empty tracestate value: dropped", state(["foo=,bar=3"], []))
    run.case("tracestate OWS around members", state(["foo=1 \t , \t bar=2, \t baz=3"], ["foo=1", "bar=2", "baz=3"]))
    all_chars = "".join(map(chr, range(0x20, 0x2C))) + "".join(map(chr, range(0x2D, 0x3D))) + "".join(map(chr, range(0x3E, 0x7F)))
    key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
    run.case("every allowed tracestate character", state([key + "=" + all_chars], [key + "=" + all_chars]))
    run.case("tracestate key of 256 characters kept", state(["foo=1", "z" * 256 + "=1"], ["foo=1", "z" * 256 + "=1"]))
    run.case("tracestate key of 257 characters: dropped", state(["foo=1", "z" * 257 + "=1"], []))
    # The public suite (STRICT_LEVEL=2) checks the tenant@vendor shape of keys with '@'
    # (one '@', tenant <= 241, vendor 1-14 characters); trace.hpp keeps it on top of
    # Level 2's key grammar.
    for k in ["@foo=1", "foo.bar=1", "foo =1"]:
        run.case("tracestate key %r: dropped" % k, state([k + ",bar=2"], []))
    for k in ["foo@=1", "foo@@bar=1", "foo@bar@baz=1"]:
        run.case("tracestate key %r: dropped" % k, state([k + ",bar=2"], []))
    run.case("tenant of 241 and vendor of 14 characters kept",
             state(["foo=1", "t" * 241 + "@" + "v" * 14 + "=1"], ["foo=1", "t" * 241 + "@" + "v" * 14 + "=1"]))
    run.case("tenant of 242 characters: dropped", state(["foo=1", "t" * 242 + "@v=1"], []))
    run.case("vendor of 15 characters: dropped", state(["foo=1", "t@" + "v" * 15 + "=1"], []))

    def two_calls():
        calls, res = run.send([("traceparent", TP)], count=2)
        parents = set()
        for c in calls:
            assert c is not None, "missing callback"
            m = TP_RE.match(values(c[0], "traceparent")[0])
            assert m.group(1) == TRACE
            parents.add(m.group(2))
        assert len(parents) == 2 and PARENT not in parents, "parent ids %r" % parents
        m = TP_RE.match(res.getheader("traceparent", ""))
        assert m and m.group(1) == TRACE and m.group(2) not in parents, "response traceparent %r" % res.getheader("traceparent")
    run.case("two outbound calls get different parent ids; the response names the server span", two_calls)

    def request_id():
        _, _, _, _, h = run.one([("traceparent", TP), ("X-Request-Id", "conf-1"), ("baggage", "userId=alice")])
        assert values(h, "x-request-id") == ["conf-1"], values(h, "x-request-id")
        assert any("userId=alice" in v for v in values(h, "baggage")), values(h, "baggage")
    run.case("X-Request-Id and baggage are passed on", request_id)


def check_name(run, name):
    t, _, _, _, _ = run.one([(name, TP)])
    assert t == TRACE, "traceparent under the name %s ignored" % name


if __name__ == "__main__":
    sys.exit(main())
