#!/usr/bin/python3
# The cost of a 1,000-rule ACL on fan-out: brokerd with no ACL file and
# with one of 1,000 rules for anonymous clients (999 that do not match
# the benchmark's topics, then the grant that does), the same closed-loop
# fan-out run by mqttbench against each, alternating, the median of
# --repeat runs.  Every delivery is checked against the subscriber's
# compiled read rights and every PUBLISH against the publisher's write
# rights, so the difference is the matcher's cost.  Not part of make
# bench (tests/bench/run.py); prints one table.
#
#   aclbench.py [--build DIR] [--repeat N] [--seconds S] [--subs N]

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402


def acl_text(n):
    rules = ["topic readwrite other/%d/#" % i for i in range(n // 2)]
    rules += ["topic read sensors/+/%d/#" % i for i in range(n - n // 2 - 1)]
    rules.append("topic readwrite bench/#")
    return "\n".join(rules) + "\n"


def start(acl_rules):
    b = harness.Broker(name="aclbench", verbose=False)
    opts = " allow anonymous"
    if acl_rules:
        path = os.path.join(b.dir, "acl")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(acl_text(acl_rules))
        opts += ' acl file "%s"' % path
    b.listen = ["listen on 127.0.0.1 port %d%s" % (b.port, opts)]
    b.write_conf()
    b.start()
    return b


def run(b, args, subs, seconds):
    cmd = [os.path.join(harness.BUILD, "bench", "mqttbench"), "-p",
           str(b.port), "-P", "1", "-S", str(subs), "-T", "1", "-q", "0",
           "-s", "64", "-L", "1000", "-d", str(seconds), "-w", "0.5"]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=seconds * 10 + 30)
    out = r.stdout + r.stderr
    for line in out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
            if res["lost"] or res["refused"]:
                raise SystemExit("mqttbench lost or was refused: %s" % line)
            return res["delivered_per_sec"]
    raise SystemExit("no result from mqttbench:\n" + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--subs", type=int, default=64)
    ap.add_argument("--rules", type=int, default=1000)
    a = ap.parse_args()
    harness.BUILD = os.path.abspath(a.build)
    brokers = {0: start(0), a.rules: start(a.rules)}
    got = {0: [], a.rules: []}
    try:
        for _ in range(a.repeat):
            for n, b in brokers.items():
                got[n].append(run(b, [], a.subs, a.seconds))
    finally:
        for b in brokers.values():
            b.stop()
            b.cleanup()
    base = statistics.median(got[0])
    with_acl = statistics.median(got[a.rules])
    print("fan-out 1>%d, qos 0, 64 B, closed loop (1000 in flight), "
          "median of %d runs of %g s, load average %.1f on %d CPUs"
          % (a.subs, a.repeat, a.seconds, os.getloadavg()[0],
             os.cpu_count()))
    print("| ACL | deliveries/s | runs | vs no ACL |")
    print("|---|---:|---|---:|")
    print("| none | %.0f | %s | 1.00 |" % (base, " ".join(
        "%.0f" % x for x in got[0])))
    print("| %d rules | %.0f | %s | %.2f |" % (
        a.rules, with_acl, " ".join("%.0f" % x for x in got[a.rules]),
        with_acl / base))


if __name__ == "__main__":
    main()
