#!/usr/bin/python3
# The integration test runner: every test_* function of every test_*.py in
# this directory, each with its own brokers, in a few parallel workers.
# Ends with the line `N passed, M failed'.
#
#   run.py [--build DIR] [-k SUBSTRING] [-j JOBS] [-v]

import argparse
import importlib.util
import multiprocessing
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TEST_TIMEOUT = 180  # seconds; a test may set its own: fn.timeout = N


def discover(filt):
    tests = []
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        mod = fn[:-3]
        spec = importlib.util.spec_from_file_location(
            mod, os.path.join(HERE, fn))
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        for name in sorted(dir(m)):
            if name.startswith("test_") and callable(getattr(m, name)):
                full = "%s.%s" % (mod, name)
                if not filt or any(f in full for f in filt):
                    tests.append((mod, name))
    return tests


class Timeout(Exception):
    pass


def on_alarm(sig, frame):
    raise Timeout("test ran over its time limit")


def run_one(args):
    mod, name = args
    import harness
    spec = importlib.util.spec_from_file_location(
        mod, os.path.join(HERE, mod + ".py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    fn = getattr(m, name)
    # In place: test modules hold the list itself (from harness import
    # CLEANUP), so a new list would leave their cleanups undone.
    harness.CLEANUP[:] = []
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(getattr(fn, "timeout", TEST_TIMEOUT))
    t0 = time.monotonic()
    err = None
    try:
        fn()
    except Exception as e:
        err = "%s: %s" % (type(e).__name__, e)
        if not isinstance(e, harness.TestFailure):
            err += "\n" + traceback.format_exc()
    finally:
        signal.alarm(0)
        for c in reversed(harness.CLEANUP):
            try:
                c()
            except Exception as e:
                err = err or "cleanup: %s" % e
    return "%s.%s" % (mod, name), err, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("-j", type=int, default=int(os.environ.get(
        "BROKERD_TEST_JOBS", "4")))
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    os.environ["BROKERD_BUILD"] = os.path.abspath(a.build)
    os.chdir(os.path.dirname(os.path.dirname(HERE)))

    import harness
    harness.BUILD = os.path.abspath(a.build)
    harness.ensure_users()
    harness.setup_once()

    tests = discover(a.k)
    print("integration tests: %d, %d at a time, as %s" % (
        len(tests), a.j, "root" if os.geteuid() == 0 else "a normal user"))
    sys.stdout.flush()
    passed = failed = 0
    t0 = time.monotonic()
    with multiprocessing.Pool(a.j, maxtasksperchild=1) as pool:
        for name, err, dt in pool.imap_unordered(run_one, tests):
            if err is None:
                passed += 1
                print("PASS %s (%.1fs)" % (name, dt))
            else:
                failed += 1
                print("FAIL %s (%.1fs)\n    %s" % (
                    name, dt, err.replace("\n", "\n    ")))
            sys.stdout.flush()
    print("integration: %.0f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
