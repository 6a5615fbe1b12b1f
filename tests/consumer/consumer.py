#!/usr/bin/env python3
"""tests/consumer/consumer.py — builds programs against ctxlog the way a user does.

link:  compiles consumer.cpp with a given compiler (meson passes the other one than the
       one that built the library), links it to the built static library and fmt, runs
       it and checks its JSON lines.
cxx17: compiles a file that includes a ctxlog header with -std=c++17 and checks that the
       compiler stops at once with ctxlog's one-line "needs C++20" error.
unloggable: compiles kv() of a type without a formatter and checks that it fails with
       an error that names the kv key.
dangling: compiles views kept from a temporary context (snapshot().request_id(), ...)
       and checks that clang rejects each with -Werror=dangling, and that the safe
       spellings next to them compile cleanly with every compiler.
Exit codes follow meson: 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(msg, output=""):
    print("FAIL: " + msg)
    if output:
        print(output)
    sys.exit(1)


def run(cmd, **kw):
    print("+ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def fmt_flags(pkg_config):
    if pkg_config and shutil.which(pkg_config):
        p = subprocess.run([pkg_config, "--cflags", "--libs", "fmt"], stdout=subprocess.PIPE, text=True)
        if p.returncode == 0:
            return shlex.split(p.stdout)
    return ["-lfmt"]


def check_lines(out):
    """Every line is one JSON object; each says in "want" the requestId it must carry
    ("" for none) and in "store" the storage<int> value the program read."""
    records = []
    for line in out.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            fail("not a JSON line: " + line, out)
    got = [(r.get("msg"), r.get("requestId", ""), r.get("region", ""), r.get("store")) for r in records]
    want = [
        ("bound call", "r-1", "eu-west", 3),
        ("pool task", "r-1", "eu-west", 3),
        ("bound call", "r-1", "eu-west", 3),
        ("outside", "", "", 0),
    ]
    if sorted(got[:2]) != sorted(want[:2]) or got[2:] != want[2:]:
        fail("unexpected lines: got %r, want %r" % (got, want), out)
    for r in records:
        if r.get("requestId", "") != r.get("want"):
            fail("line carries the wrong requestId: %r" % r, out)


def link(a):
    cxx = shlex.split(a.cxx)
    flags = ["-std=c++20", "-O2", "-Wall", "-Wextra", "-pthread", "-I" + a.include]
    if a.sanitize and a.sanitize != "none":
        flags += ["-fsanitize=" + a.sanitize, "-fno-omit-frame-pointer"]
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "consumer.o")
        exe = os.path.join(tmp, "consumer")
        p = run(cxx + flags + ["-c", os.path.join(HERE, "consumer.cpp"), "-o", obj])
        if p.returncode != 0:
            fail("%s could not compile consumer.cpp" % a.cxx, p.stdout)
        # Linked by the same compiler, as a user would; in a sanitized build that brings its
        # own sanitizer runtime, which the library's instrumentation works with too.
        p = run(cxx + flags + [obj, os.path.abspath(a.lib)] + fmt_flags(a.pkg_config) + ["-o", exe])
        if p.returncode != 0:
            fail("linking the %s-compiled consumer against %s failed" % (a.cxx, a.lib), p.stdout)
        p = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 0:
            fail("the consumer exited with %d" % p.returncode, p.stdout + p.stderr)
        check_lines(p.stdout)
        print(p.stdout, end="")
        print("ok: built with %s, linked, ran, %d lines checked" % (a.cxx, len(p.stdout.splitlines())))


def cxx17(a):
    for cxx in a.cxx:
        for header in a.header:
            with tempfile.TemporaryDirectory() as tmp:
                src = os.path.join(tmp, "old.cpp")
                with open(src, "w") as f:
                    f.write("#include <%s>\nint main() {}\n" % header)
                p = run(shlex.split(cxx) + ["-std=c++17", "-I" + a.include, "-fsyntax-only", src])
            # Diagnostics only: "file:line:col: error: ..." / "fatal error: ...", not the
            # quoted source lines or clang's "2 errors generated."
            errors = [l for l in p.stdout.splitlines() if re.search(r"(^|: )(fatal )?error: ", l)]
            if p.returncode == 0:
                fail("%s compiled <%s> with -std=c++17" % (cxx, header), p.stdout)
            if not errors or "ctxlog needs C++20" not in errors[0]:
                fail("%s: the first error is not ctxlog's C++20 one" % cxx, p.stdout)
            if len(errors) > 2 or len(p.stdout.splitlines()) > 12:
                fail("%s: more than the one error for <%s>" % (cxx, header), p.stdout)
            print(p.stdout, end="")
    print("ok: every compiler stopped at ctxlog's C++20 error")


def unloggable(a):
    """kv() of a type ctxlog cannot log: the build fails, and the diagnostics name the
    kv key and the reason within their first lines."""
    program = (
        "#include <ctxlog/ctxlog.hpp>\n"
        "struct opaque { int x; };\n"
        "int main() { LOG_INFO(\"paid\", ctxlog::kv(\"amount_due\", opaque{1})); }\n")
    for cxx in a.cxx:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "unloggable.cpp")
            with open(src, "w") as f:
                f.write(program)
            p = run(shlex.split(cxx) + ["-std=c++20", "-I" + a.include, "-fsyntax-only", src])
        if p.returncode == 0:
            fail("%s compiled kv() of a type without a formatter" % cxx, p.stdout)
        head = "\n".join(p.stdout.splitlines()[:20])
        if "amount_due" not in head or ("unloggable_kv_key" not in head and "cannot_log" not in head):
            fail("%s: the first lines of the error do not name the key and the reason" % cxx, p.stdout)
        print(head)
    print("ok: every compiler rejected the kv() and named its key")


DANGLING = [
    ("request_id", "std::string_view id = ctxlog::snapshot().request_id(); return id.size();"),
    ("get", "std::string_view r = ctxlog::snapshot().get(\"region\"); return r.size();"),
    ("custom", "std::span<const ctxlog::field> fs = ctxlog::snapshot().custom(); return fs.size();"),
    ("with", "std::string_view t = ctxlog::snapshot().with(ctxlog::fields{}.trace_id(\"t\")).trace_id();"
             " return t.size();"),
]
SAFE = ("const ctxlog::context c = ctxlog::snapshot(); std::string_view id = c.request_id();"
        " auto k = ctxlog::kv(\"id\", std::string(40, 'x'));"
        " const ctxlog::fields f = ctxlog::fields{}.request_id(std::string(40, 'r'));"
        " ctxlog::run(f, [] {}); LOG_INFO(\"k\", k); return id.size();")


def dangling(a):
    """A view kept from a temporary context is a compile error with clang (lifetimebound
    accessors); the same code kept through a named context compiles everywhere."""
    def compile_body(cxx, tmp, name, body, extra):
        src = os.path.join(tmp, name + ".cpp")
        with open(src, "w") as f:
            f.write("#include <span>\n#include <string>\n#include <ctxlog/ctxlog.hpp>\n"
                    "int main() { " + body + " }\n")
        return run(shlex.split(cxx) + ["-std=c++20", "-I" + a.include, "-fsyntax-only", "-Wall", "-Werror"]
                   + extra + [src])
    clang_seen = False
    for cxx in a.cxx:
        with tempfile.TemporaryDirectory() as tmp:
            p = compile_body(cxx, tmp, "safe", SAFE, [])
            if p.returncode != 0:
                fail("%s rejected the safe spellings" % cxx, p.stdout)
            if "clang" not in os.path.basename(shlex.split(cxx)[0]):
                print("%s: no lifetimebound; the ASan build reports kept views at run time" % cxx)
                continue
            clang_seen = True
            for name, body in DANGLING:
                p = compile_body(cxx, tmp, name, body, ["-Werror=dangling"])
                if p.returncode == 0 or "dangling" not in p.stdout:
                    fail("%s accepted a view kept from a temporary context (%s)" % (cxx, name), p.stdout)
                print("\n".join(p.stdout.splitlines()[:3]))
    if not clang_seen:
        print("skipped: no clang++ to check lifetimebound")
        sys.exit(77)
    print("ok: clang rejected every kept view of a temporary; the safe spellings compiled")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    l = sub.add_parser("link")
    l.add_argument("--cxx", required=True, help="compiler for consumer.cpp")
    l.add_argument("--lib", required=True, help="the built static library")
    l.add_argument("--include", required=True)
    l.add_argument("--sanitize", default="none", help="the build's b_sanitize")
    l.add_argument("--pkg-config", default="")
    o = sub.add_parser("cxx17")
    o.add_argument("--cxx", action="append", required=True)
    o.add_argument("--header", action="append", required=True)
    o.add_argument("--include", required=True)
    u = sub.add_parser("unloggable")
    u.add_argument("--cxx", action="append", required=True)
    u.add_argument("--include", required=True)
    d = sub.add_parser("dangling")
    d.add_argument("--cxx", action="append", required=True)
    d.add_argument("--include", required=True)
    a = ap.parse_args()
    {"link": link, "cxx17": cxx17, "unloggable": unloggable, "dangling": dangling}[a.mode](a)


if __name__ == "__main__":
    main()
