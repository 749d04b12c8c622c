#!/usr/bin/python3
"""Runs the Python client's tests against real daemons.

  run_tests.py [--bin build/gradguard] [-v] [PATTERN ...]

Starts two daemons on free loopback ports with in-memory stores: one open
(GG_URL), one with an API key file (GG_AUTH_URL, key in GG_KEY); runs every
tests/test_*.py (unittest, from the source tree: no install needed); stops
the daemons. PATTERNs select tests by name (unittest -k). Tests of contract
v1.1 features that the daemon does not have yet are skipped, and say so;
with GG_REQUIRE_V11=1 they run (and fail) instead.
Closing line: "python client (BIN): N passed, N failed, N skipped".
"""
import argparse
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(PKG))
KEY = "python-client-test-key-0123456789"


class Daemon:
    """build/gradguard --port 0 on 127.0.0.1; url read from its first line."""

    def __init__(self, binary, extra, log_path):
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--port", "0", "--bind", "127.0.0.1", "--store", "memory:"]
            + extra, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        self.url = self._listening(deadline=time.monotonic() + 20)

    def _listening(self, deadline):
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise RuntimeError("the daemon did not say where it listens")
            chunk = os.read(fd, 1)
            if not chunk:
                raise RuntimeError("the daemon exited (see %s)" % self.log.name)
            line += chunk
        text = line.decode().strip()
        if not text.startswith("listening on "):
            raise RuntimeError("unexpected first line: %r" % text)
        return text[len("listening on "):].split()[0]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "gradguard"))
    ap.add_argument("-v", action="store_true")
    ap.add_argument("patterns", nargs="*")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    logs = tempfile.mkdtemp(prefix="gg-python-")
    keys = os.path.join(logs, "keys.txt")
    with open(keys, "w") as f:
        f.write("# test key\n%s\n" % KEY)
    daemons = []
    try:
        daemons.append(Daemon(binary, [], os.path.join(logs, "open.log")))
        daemons.append(Daemon(binary, ["--api-keys-file", keys],
                              os.path.join(logs, "auth.log")))
    except RuntimeError as e:
        for d in daemons:
            d.stop()
        print("python client: %s (logs in %s)" % (e, logs))
        print("python client (%s): 0 passed, 1 failed, 0 skipped" % args.bin)
        return 1
    os.environ["GG_URL"] = daemons[0].url
    os.environ["GG_AUTH_URL"] = daemons[1].url
    os.environ["GG_KEY"] = KEY
    sys.path.insert(0, PKG)
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = ["*%s*" % p for p in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2 if args.v else 1,
                                     stream=sys.stdout).run(suite)
    codes = [d.stop() for d in daemons]
    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors) + \
        len(result.unexpectedSuccesses)
    passed = result.testsRun - skipped - failed
    for reason in sorted({r for _, r in result.skipped}):
        print("skipped: %s" % reason)
    if any(c != 0 for c in codes):
        print("FAIL: a daemon exited with %s (logs in %s)" % (codes, logs))
        failed += 1
    print("python client (%s): %d passed, %d failed, %d skipped"
          % (args.bin, passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
