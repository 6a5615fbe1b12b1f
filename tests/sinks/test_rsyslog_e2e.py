#!/usr/bin/env python3
"""tests/sinks/test_rsyslog_e2e.py -- the syslog sink against a real rsyslogd.

Starts rsyslogd in the foreground (-n) with a configuration of its own in a temporary
directory: imtcp and imudp on free loopback ports, imuxsock on a socket in the directory
(no /dev/log, no kernel log), imptcp on a unix stream socket there, imfile on a file there, mmpstrucdata (the SD into $!rfc5424-sd) and mmjsonparse
(a JSON MSG into $!), and one omfile action whose template writes every message as a JSON
object: header fields, the raw SD, and $!. Then runs syslog_logger
(tests/sinks/syslog_logger.cpp):

  - over UDP, TCP (octet counting), the unix datagram socket (imuxsock) and a unix stream
    socket (imptcp, octet counting): every line arrives once,
    with requestId, traceId and spanId intact in the ctx@32473 element, the header (PRI,
    HOSTNAME, APP-NAME, PROCID = the logger's pid, MSGID) as sent;
  - hostile values (quotes, ']', backslashes, an SD-lookalike, UTF-8) in tenantId, a
    custom field, a kv() field and the message: rsyslog's parser gives back exactly the
    value that was logged;
  - a JSON MSG: mmjsonparse finds the record's fields in it;
  - ctxlog's rotating_file sink (JSON lines, rotated every 64 KiB) read by imfile: every
    line arrives once across the rotations;
  - a crash of rsyslogd (SIGKILL) in the middle of a TCP run, started again on the same
    port: distinct lines received + the logger's counted drops == lines accepted; copies
    (the sink's resend after the broken connection) at most what the sink says it resent.

Skipped (exit 77) only when rsyslogd is not installed.
Usage: test_rsyslog_e2e.py --logger PATH [--small]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOSTILE = "q\"uote ]bracket\\back [x@1 k=\"v\"] caf\u00e9 \u20ac end"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
SD = "ctx@32473"
failures = []
SMALL = False


def check(cond, msg):
    if not cond:
        failures.append(msg)
    return cond


def find_rsyslogd():
    for p in (shutil.which("rsyslogd"), "/usr/sbin/rsyslogd", "/sbin/rsyslogd"):
        if p and os.access(p, os.X_OK):
            return p
    return None


def free_port(kind):
    # A port free for both TCP and UDP (imtcp and imudp listen on one each).
    for _ in range(50):
        s = socket.socket(socket.AF_INET, kind)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM)
        try:
            other.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            other.close()
    raise RuntimeError("no free port")


CONF = """
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
module(load="imuxsock" SysSock.Use="off")
module(load="imptcp")
module(load="imfile")
module(load="mmpstrucdata")
module(load="mmjsonparse")
input(type="imtcp" address="127.0.0.1" port="{port}")
input(type="imudp" address="127.0.0.1" port="{port}" rcvbufSize="8m")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" ParseHostname="on")
input(type="imptcp" path="{stream}" unlink="on")
input(type="imfile" File="{applog}" Tag="app")
template(name="e2e" type="list" option.jsonf="on") {{
  property(outname="input" name="inputname" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="parsed" name="$!" format="jsonf")
}}
action(type="mmpstrucdata" sd_name.lowercase="off")
if $msg startswith "{{" then {{
  action(type="mmjsonparse" cookie="")
}}
action(type="omfile" file="{out}" template="e2e")
"""


class rsyslog:
    def __init__(self, binary, dir):
        self.binary, self.dir = binary, dir
        self.work = os.path.join(dir, "work")
        os.makedirs(self.work, exist_ok=True)
        self.port = free_port(socket.SOCK_STREAM)
        self.sock = os.path.join(dir, "log.sock")
        self.stream = os.path.join(dir, "stream.sock")
        self.applog = os.path.join(dir, "app", "app.log")
        os.makedirs(os.path.dirname(self.applog), exist_ok=True)
        self.out = os.path.join(dir, "out.json")
        self.conf = os.path.join(dir, "rsyslog.conf")
        self.pidfile = os.path.join(dir, "rsyslogd.pid")
        with open(self.conf, "w") as f:
            f.write(CONF.format(work=self.work, port=self.port, sock=self.sock, stream=self.stream, applog=self.applog, out=self.out))
        self.proc = None
        self.log = open(os.path.join(dir, "rsyslogd.log"), "ab")

    def start(self, timeout=20):
        for stale in (self.pidfile, self.stream):  # left by a killed rsyslogd
            if os.path.exists(stale):
                os.unlink(stale)
        t0 = time.monotonic()
        # -n: foreground; -C: no chroot; -i: our pid file. Running as root: no privilege drop is configured.
        self.proc = subprocess.Popen([self.binary, "-n", "-C", "-f", self.conf, "-i", self.pidfile],
                                     stdout=self.log, stderr=self.log)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("rsyslogd exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                if os.path.exists(self.sock) and os.path.exists(self.stream):
                    self.start_seconds = time.monotonic() - t0
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("rsyslogd did not listen within %d s:\n%s" % (timeout, self.log_tail()))

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_tail(self, n=3000):
        try:
            with open(os.path.join(self.dir, "rsyslogd.log"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def received(self):
        """Every message written so far, as dicts with 'params' (the ctx element) and 'json' ($! parsed)."""
        out = []
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return out
        data = data[:data.rfind(b"\n") + 1]  # a line rsyslog is writing now: the next read has it whole
        for raw in data.decode("utf-8", "replace").splitlines():
            try:
                m = json.loads(raw)
            except ValueError:
                failures.append("rsyslog wrote a line that is not JSON: %r" % raw[:300])
                continue
            parsed = json.loads(m["parsed"]) if m.get("parsed") else {}
            m["json"] = parsed
            m["params"] = parsed.get("rfc5424-sd", {}).get(SD, {})
            m["fields"] = parsed.get("rfc5424-sd", {}).get("fields@32473", {})
            out.append(m)
        return out


def logger(args, rs, *flags, wait=True):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
    env.setdefault("TSAN_OPTIONS", "halt_on_error=0:exitcode=66")
    p = subprocess.Popen([args.logger, "--port", str(rs.port), "--path", rs.sock] + [str(f) for f in flags],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return finish(p) if wait else p


def finish(p, timeout=60):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        failures.append("syslog_logger did not finish within %d s" % timeout)
    err = err.decode("utf-8", "replace")
    check(p.returncode == 0, "syslog_logger exited with %s:\n%s" % (p.returncode, err[-3000:]))
    check("Sanitizer" not in err and "runtime error" not in err, "sanitizer report:\n" + err[-3000:])
    try:
        r = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        failures.append("syslog_logger printed no result: %r\n%s" % (out[-500:], err[-2000:]))
        return {"pid": -1, "accepted": 0, "delivered": 0, "dropped": 0, "buffered": 0, "resent": 0}, err
    check(r["accepted"] == r["delivered"] + r["dropped"] + r["buffered"], "delivery does not add up: %s" % r)
    check(r["buffered"] == 0 and r["sink_buffered"] == 0, "lines still buffered after shutdown: %s" % r)
    check(r["sink_dropped"] == r["dropped"], "get_stats().sink_dropped %d, the sink's dropped %d" %
          (r["sink_dropped"], r["dropped"]))
    check(r["written"] + r["stats_dropped"] == r["issued"], "get_stats does not add up: %s" % r)
    check(r["accepted"] == r["written"], "the sink took %d lines, the back-end wrote %d" % (r["accepted"], r["written"]))
    return r, err


def of_run(rs, run, want, timeout=15):
    """The messages of one run (requestId run-r<i>), waiting until `want` distinct ones are there."""
    t0 = time.monotonic()
    while True:
        msgs = [m for m in rs.received() if m["params"].get("requestId", "").startswith(run + "-r")]
        distinct = {m["params"]["requestId"] for m in msgs}
        if len(distinct) >= want or time.monotonic() - t0 > timeout:
            return msgs, distinct
        time.sleep(0.1)


def transports(args, rs):
    n = 300 if SMALL else 2000
    for transport, input_name in (("udp", "imudp"), ("tcp", "imtcp"), ("unix_dgram", "imuxsock"),
                                  ("unix_stream", "imptcp")):
        run = "plain-" + transport
        # UDP has no flow control: pace it so that rsyslog's socket buffer never overflows.
        r, err = logger(args, rs, "--transport", transport, "--run", run, "--lines", n,
                        "--sleep-us", 100 if transport == "udp" else 0,
                        *(["--path", rs.stream] if transport == "unix_stream" else []))
        msgs, distinct = of_run(rs, run, n)
        check(r["delivered"] == n and r["dropped"] == 0, "%s: %s" % (transport, r))
        check(len(msgs) == n and len(distinct) == n,
              "%s: %d messages (%d distinct) in rsyslog's file, %d sent" % (transport, len(msgs), len(distinct), n))
        for m in msgs[:: max(1, n // 50)]:
            i = int(m["params"]["requestId"].rsplit("-r", 1)[1])
            ok = (m["input"] == input_name and m["params"].get("traceId") == TRACE and
                  m["params"].get("spanId") == SPAN and m["pri"] == "14" and m["host"] == "test-host" and
                  m["app"] == "syslog_logger" and m["procid"] == str(r["pid"]) and m["msgid"] == "default" and
                  m["msg"] == "line %d" % i and m["fields"].get("i") == str(i))
            if not check(ok, "%s: message not as sent: %s" % (transport, json.dumps(m)[:600])):
                break
        print("%s: %d lines sent, %d arrived in rsyslog (%s), every SD param intact" % (transport, n, len(distinct),
                                                                                      input_name))


def hostile(args, rs):
    n = 50
    for transport in ("udp", "tcp", "unix_dgram"):
        run = "hostile-" + transport
        r, err = logger(args, rs, "--transport", transport, "--run", run, "--lines", n, "--hostile", 1)
        msgs, distinct = of_run(rs, run, n)
        check(len(distinct) == n, "hostile %s: %d of %d arrived" % (transport, len(distinct), n))
        bad = 0
        for m in msgs:
            i = m["params"]["requestId"].rsplit("-r", 1)[1]
            p = m["params"]
            ok = (p.get("tenantId") == HOSTILE and p.get("note") == HOSTILE and p.get("traceId") == TRACE and
                  m["msg"] == "hostile %s %s" % (i, HOSTILE) and m["pri"] == "12")
            if not ok and bad == 0:
                failures.append("hostile %s: not as logged: %s" % (transport, json.dumps(m, ensure_ascii=False)[:800]))
            bad += not ok
        check(bad == 0, "hostile %s: %d messages changed on the way" % (transport, bad))
        print("hostile %s: %d messages, quotes, ']', backslashes, UTF-8 and an SD look-alike back as logged" %
              (transport, len(msgs) - bad))


def json_msg(args, rs):
    n = 100
    r, err = logger(args, rs, "--transport", "tcp", "--run", "json", "--lines", n, "--message", "json")
    msgs, distinct = of_run(rs, "json", n)
    check(len(distinct) == n, "json MSG: %d of %d arrived" % (len(distinct), n))
    ok = all(m["json"].get("requestId") == m["params"]["requestId"] and m["json"].get("traceId") == TRACE and
             m["json"].get("msg", "").startswith("line ") and m["json"].get("level") == "info" for m in msgs)
    check(ok, "json MSG: mmjsonparse did not find the record's fields: %s" % (json.dumps(msgs[:1])[:600]))
    print("json MSG: %d messages parsed by mmjsonparse, requestId and traceId in both SD and JSON" % len(msgs))


def restart(args, rs):
    n = 1500 if SMALL else 6000
    p = logger(args, rs, "--transport", "tcp", "--run", "restart", "--lines", n, "--sleep-us", 1500 if SMALL else 500,
               "--drain-ms", 30000, wait=False)
    time.sleep(1.0)
    before = len(of_run(rs, "restart", 1, timeout=5)[1])
    rs.stop(signal.SIGKILL)
    down = time.monotonic()
    time.sleep(0.7)
    rs.start()
    check(p.poll() is None, "restart: the logger ended before rsyslogd was back (the test proves nothing)")
    print("restart: rsyslogd killed (%d lines in before), down for %.2f s" % (before, time.monotonic() - down))
    r, err = finish(p)
    msgs, distinct = of_run(rs, "restart", r["accepted"] - r["dropped"])
    copies = len(msgs) - len(distinct)
    check(before > 0, "restart: nothing arrived before the kill")
    check(len(distinct) + r["dropped"] == r["accepted"], "restart: %d distinct + %d dropped != %d accepted" %
          (len(distinct), r["dropped"], r["accepted"]))
    check(copies <= r["resent"], "restart: %d copies, but the sink resent only %d" % (copies, r["resent"]))
    check(r["failures"] > 0, "restart: the sink saw no failed attempt while rsyslogd was down")
    print("restart: %d lines accepted, %d distinct arrived, %d copies (%d resent), %d dropped, %d failed attempts" %
          (r["accepted"], len(distinct), copies, r["resent"], r["dropped"], r["failures"]))


def imfile_rotation(args, rs):
    # ctxlog's rotating_file sink writes JSON lines, rotating every 64 KiB (app.log ->
    # app.log.1 -> ...); rsyslog's imfile, watching the name app.log (no wildcard), finishes
    # the renamed file and goes on with the new one. Every line arrives once: none lost at
    # a rotation, none read twice. Paced (about 3 rotations a second): imfile follows one
    # rotation at a time, and a burst that rotates several times before it reads loses the
    # files in between (docs/destinations/rsyslog.md); a wildcard reads renamed files again.
    n = 1000 if SMALL else 3000
    r, err = logger(args, rs, "--transport", "file", "--path", rs.applog, "--run", "file", "--lines", n,
                    "--max-size", 64 << 10, "--backups", 200, "--sleep-us", 300)
    rotated = len([f for f in os.listdir(os.path.dirname(rs.applog)) if f.startswith("app.log.")])
    check(rotated >= 3, "imfile: only %d rotations: the test proves little" % rotated)
    t0 = time.monotonic()
    while True:
        ids = [m["json"].get("requestId", "") for m in rs.received() if m.get("input") == "imfile"]
        ids = [i for i in ids if i.startswith("file-r")]
        if len(set(ids)) >= n or time.monotonic() - t0 > 20:
            break
        time.sleep(0.2)
    check(len(set(ids)) == n, "imfile: %d of %d lines arrived across %d rotations" % (len(set(ids)), n, rotated))
    check(len(ids) == len(set(ids)), "imfile: %d lines read twice" % (len(ids) - len(set(ids))))
    print("imfile: %d lines written through %d rotations, %d arrived once each" % (n, rotated, len(set(ids))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--logger", required=True)
    ap.add_argument("--small", action="store_true", help="fewer lines (sanitizer builds)")
    args = ap.parse_args()
    global SMALL
    SMALL = args.small
    binary = find_rsyslogd()
    if binary is None:
        print("SKIP: rsyslogd is not installed (scripts/install-deps.sh installs it)")
        return 77
    tmp = tempfile.mkdtemp(prefix="ctxlog-rsyslog-")
    rs = rsyslog(binary, tmp)
    try:
        rs.start()
        version = subprocess.run([binary, "-v"], capture_output=True, text=True).stdout.split("\n")[0].split(" compiled")[0]
        print("%s started in %.2f s on 127.0.0.1:%d (tcp, udp) and %s" % (version.strip(), rs.start_seconds, rs.port,
                                                                        rs.sock))
        for step in (transports, hostile, json_msg, imfile_rotation, restart):
            step(args, rs)
    finally:
        code = rs.stop()
        if failures:
            print(rs.log_tail())
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d check(s) failed:" % len(failures))
        for f in failures[:40]:
            print("  - " + f)
        return 1
    print("all checks passed (rsyslogd exit %s)" % code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
