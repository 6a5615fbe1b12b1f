#!/usr/bin/env python3
"""scripts/clickhouse_local.py -- a throwaway clickhouse-server on 127.0.0.1.

For the ClickHouse sink's end-to-end test, `make demo-aggregated` and anyone who wants to
try the sink: writes a config.xml and users.xml into a directory of its own (data, tmp,
logs, user_files and format_schemas all under it), picks free loopback ports (HTTP,
native, interserver), runs clickhouse-server in the foreground and talks to it over its
HTTP interface (no clickhouse-client needed). Works with 18.16 (Debian 12) and newer.

    with clickhouse_local.server(tmpdir) as ch:
        print(ch.query("SELECT version()"))

Run as a program, it starts a server and waits for Ctrl-C or SIGTERM, then stops it:
clickhouse_local.py [DIR]
"""
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

BINARIES = ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server", "/usr/bin/clickhouse")


def find_binary():
    """The clickhouse-server command (a list), or None when it is not installed."""
    for b in BINARIES:
        if os.access(b, os.X_OK):
            return [b, "server"] if os.path.basename(b) == "clickhouse" else [b]
    found = shutil.which("clickhouse-server")
    return [found] if found else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{dir}/log/server.log</log>
        <errorlog>{dir}/log/server.err.log</errorlog>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <interserver_http_port>{inter}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <format_schema_path>{dir}/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <keep_alive_timeout>3</keep_alive_timeout>
</yandex>
"""

USERS = """<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
"""


class server:
    """One clickhouse-server with everything under dir. start() picks the ports once:
    a restart() uses the same ports and the same data."""

    def __init__(self, dir):
        self.dir = os.path.abspath(dir)
        self.command = find_binary()
        self.proc = None
        self.http_port = None
        self.start_seconds = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=60):
        if self.command is None:
            raise RuntimeError("clickhouse-server is not installed")
        if self.http_port is None:
            self.http_port, self.tcp_port, self.inter_port = free_port(), free_port(), free_port()
            for d in ("data", "tmp", "log", "user_files", "format_schemas"):
                os.makedirs(os.path.join(self.dir, d), exist_ok=True)
            with open(os.path.join(self.dir, "config.xml"), "w") as f:
                f.write(CONFIG.format(dir=self.dir, http=self.http_port, tcp=self.tcp_port, inter=self.inter_port))
            with open(os.path.join(self.dir, "users.xml"), "w") as f:
                f.write(USERS)
        out = open(os.path.join(self.dir, "log", "stdout.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.command + ["--config-file=" + os.path.join(self.dir, "config.xml")],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=self.dir)
        out.close()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("clickhouse-server exited with %d:\n%s" % (self.proc.returncode, self.log_tail()))
            if self.ping():
                self.start_seconds = time.monotonic() - t0
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("clickhouse-server did not answer within %d s:\n%s" % (timeout, self.log_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stops the server (SIGTERM: its graceful shutdown) and waits for it to exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code, self.proc = self.proc.returncode, None
        return code

    def restart(self):
        self.stop()
        return self.start()

    def ping(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=2)
            conn.request("GET", "/ping")
            ok = conn.getresponse().read().strip() == b"Ok."
            conn.close()
            return ok
        except OSError:
            return False

    def request(self, sql, timeout=60):
        """(status, body text) of a query POSTed to the HTTP interface."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request("POST", "/", body=sql.encode())
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def query(self, sql):
        """The body of a successful query; raises with the server's message otherwise."""
        status, body = self.request(sql)
        if status != 200:
            raise RuntimeError("query failed (%d): %s\n%s" % (status, sql, body[:500]))
        return body

    def rows(self, sql):
        """The rows of a query as lists of strings (TabSeparated, unescaped for plain text)."""
        text = self.query(sql.rstrip().rstrip(";") + " FORMAT TabSeparated")
        return [line.split("\t") for line in text.split("\n") if line]

    def url(self, query):
        return "http://127.0.0.1:%d/?query=%s" % (self.http_port, urllib.parse.quote(query))

    def log_tail(self, n=3000):
        texts = []
        for name in ("stdout.log", "server.err.log"):
            p = os.path.join(self.dir, "log", name)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    texts.append(f.read()[-n:].decode("utf-8", "replace"))
        return "\n".join(texts)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    d = sys.argv[1] if len(sys.argv) > 1 else "clickhouse-local"
    # SIGTERM too (and SIGINT even when started in the background, where it is ignored).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    with server(d) as ch:
        print("clickhouse-server %s on 127.0.0.1:%d (HTTP), data in %s; started in %.2f s; Ctrl-C stops it" %
              (ch.query("SELECT version()").strip(), ch.http_port, ch.dir, ch.start_seconds), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
