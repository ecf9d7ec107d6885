# The test PKI (tests/pki/mkpki), made once per build directory and
# shared by the TLS tests and the benchmark; remade when older than a
# week (its certificates last 30 days).  Nothing in it is secret.

import fcntl
import os
import shutil
import subprocess
import time

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
MKPKI = os.path.join(HERE, "..", "pki", "mkpki")


def pki():
    base = os.path.join(harness.BUILD, "tests")
    os.makedirs(base, exist_ok=True)
    d = os.path.join(base, "pki")
    with open(os.path.join(base, "pki.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ok = os.path.join(d, "ok")
        if os.path.exists(ok) and \
                time.time() - os.path.getmtime(ok) < 7 * 86400:
            return d
        tmp = d + ".new"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["sh", MKPKI, tmp], check=True, timeout=120)
        open(os.path.join(tmp, "ok"), "w").close()
        shutil.rmtree(d, ignore_errors=True)
        os.rename(tmp, d)
        os.chmod(d, 0o755)
    return d


def f(name):
    return os.path.join(pki(), name)
