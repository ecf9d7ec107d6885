#!/usr/bin/python3
# make bench: the same scenarios against brokerd and Debian's mosquitto on
# this machine, in one run, alternating the two, and one table with the
# ratio brokerd/mosquitto per row.  Results go to tests/bench/RESULTS.md.
#
#   run.py [--build DIR] [--quick] [-k SUBSTRING] [--out FILE]

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                out.append(int(d))
    return out


def cpu_seconds(pids):
    t = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t += int(fields[11]) + int(fields[12])
    return t / TICK


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


_TLS_FILES = None


def tls_files():
    """One certificate and key for both brokers' TLS listeners (ECDSA
    P-256): the key twice, mode 0600 for brokerd, which refuses a key
    others may read, and 0644 for Mosquitto, which reads it as its own
    user."""
    global _TLS_FILES
    if _TLS_FILES is None:
        d = tempfile.mkdtemp(prefix="bench-tls-")
        os.chmod(d, 0o755)
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        os.chmod(key, 0o600)
        shared = os.path.join(d, "key-mosquitto.pem")
        shutil.copy(key, shared)
        os.chmod(shared, 0o644)
        _TLS_FILES = (d, cert, key, shared)
    return _TLS_FILES


class Broker:
    def __init__(self, kind, build, tls=False, persist=False):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix="bench-%s-" % kind)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "log"), "wb")
        if kind == "brokerd":
            conf = os.path.join(self.dir, "brokerd.conf")
            tlsopts = ""
            if tls:
                _, cert, key, _ = tls_files()
                # Every connection comes from 127.0.0.1: no limit per
                # address on handshakes in progress (32 by default).
                tlsopts = (' tls certificate "%s" key "%s" max handshakes '
                           '1000000 max handshakes per address 1000000' %
                           (cert, key))
            with open(conf, "w") as f:
                f.write("listen on 127.0.0.1 port %d allow anonymous%s\n"
                        'control socket "%s/control.sock"\n'
                        'datadir "%s/data"\n'
                        "log level warning\n"
                        % (self.port, tlsopts, self.dir, self.dir))
            cmd = [os.path.join(build, "sbin", "brokerd"), "-d", "-f",
                   conf]
        else:
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write("listener %d 127.0.0.1\n"
                        "allow_anonymous true\n"
                        "max_inflight_messages 64\n"
                        "max_queued_messages 1000\n"
                        "log_type error\n" % self.port)
                if persist:
                    f.write("persistence true\npersistence_location %s/\n"
                            % self.dir)
                if tls:
                    _, cert, _, key = tls_files()
                    f.write("certfile %s\nkeyfile %s\n" % (cert, key))
            cmd = ["mosquitto", "-c", conf]
        self.p = subprocess.Popen(cmd, stdout=self.log, stderr=self.log,
                                  start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if self.p.poll() is not None:
                    raise SystemExit("%s did not start" % kind)
                time.sleep(0.05)
        if kind == "brokerd":
            # Ready when all five processes are up.
            while len(self.pids()) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)

    def pids(self):
        return [self.p.pid] + children(self.p.pid)

    def stop(self):
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
            self.p.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def version_of(kind, build):
    if kind == "brokerd":
        r = subprocess.run(["git", "describe", "--always", "--dirty"],
                           cwd=TOP, capture_output=True, text=True)
        return "brokerd " + r.stdout.strip()
    r = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True)
    return (r.stdout or r.stderr).splitlines()[0].strip()


def run_pubsub(bench, broker, args, timeout=120):
    """One mqttbench run; the broker's CPU time over the measured
    window."""
    cmd = [bench, "-p", str(broker.port)] + args
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    cpu0 = cpu1 = None
    result = None
    for line in p.stdout:
        line = line.strip()
        if line == "measure-start":
            cpu0 = cpu_seconds(broker.pids())
        elif line == "measure-end":
            cpu1 = cpu_seconds(broker.pids())
        elif line.startswith("{"):
            result = json.loads(line)
    p.wait(timeout)
    if result is None:
        return {"error": p.stderr.read().strip()[-200:]}
    result["cpu"] = (cpu1 - cpu0) if cpu0 is not None else 0
    d = result["delivered"]
    result["per_cpu"] = d / result["cpu"] if result["cpu"] > 0 else 0
    return result


def run_conns(bench, broker, n, nsrc, tls=False):
    base = rss_kib(broker.pids())
    p = subprocess.Popen([bench, "-p", str(broker.port), "-n", str(n),
                          "-B", str(nsrc)] + (["-t"] if tls else []),
                         stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    result = None
    for line in p.stdout:
        if line.startswith("{"):
            result = json.loads(line)
            break
    if result is None:
        p.kill()
        return {"error": p.stderr.read().strip()[-200:]}
    time.sleep(1)   # let the broker settle before reading its memory
    rss = rss_kib(broker.pids())
    result["rss_per_conn_kib"] = (rss - base) / n
    p.stdin.close()
    p.wait(60)
    return result


# Over TLS: handshakes (None: 2000 connections, each with its CONNECT),
# then the fan-in, fan-out and pairs loads with 1 KiB messages.
TLS_LOADS = [
    ("handshakes + CONNECT (2000)", None),
    ("fan-in 16>1 qos0 1KiB", ["-P", "16", "-S", "1", "-T", "1", "-q", "0",
                               "-s", "1024"]),
    ("fan-out 1>64 qos0 1KiB", ["-P", "1", "-S", "64", "-T", "1", "-q",
                                "0", "-s", "1024"]),
    ("pairs 20 qos1 1KiB", ["-P", "20", "-S", "20", "-T", "20", "-q", "1",
                            "-s", "1024"]),
]


# QoS 1 to subscribers that keep their sessions, for persistence.
PERSIST_ARGS = ["-c", "-P", "20", "-S", "20", "-T", "20", "-q", "1", "-s",
                "1024"]


# (name, mqttbench arguments)
def scenarios(quick):
    secs = ["-d", "2" if quick else "4", "-w", "1"]
    rows = []
    for size in (64, 16384):
        for qos in (0, 1, 2):
            for name, topo in (("fan-in 16>1", ["-P", "16", "-S", "1",
                                                "-T", "1"]),
                               ("fan-out 1>64", ["-P", "1", "-S", "64",
                                                 "-T", "1"]),
                               ("pairs 100", ["-P", "100", "-S", "100",
                                              "-T", "100"])):
                if size == 16384 and quick and name != "pairs 100":
                    continue
                rows.append(("%s qos%d %dB" % (name, qos, size),
                             topo + ["-q", str(qos), "-s", str(size)] +
                             secs))
    for qos in (0, 1, 2):
        rows.append(("latency 100 pairs 5000/s qos%d" % qos,
                     ["-P", "100", "-S", "100", "-T", "100", "-q", str(qos),
                      "-s", "64", "-r", "5000"] + secs))
    return rows


def fmt(v):
    if v is None:
        return "-"
    if v >= 1e6:
        return "%.2fM" % (v / 1e6)
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    return "%.0f" % v


def latency(r):
    """p50/p99, or how long every delivery took at least when none of
    the messages delivered in the window was sent in it."""
    if r.get("latency_samples", 1) == 0 and r["delivered"] > 0:
        return ">%.0fs" % r["seconds"]
    return "%d/%d" % (r["p50_us"], r["p99_us"])


def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--conns", type=int, default=100000)
    a = ap.parse_args()
    bench = os.path.join(a.build, "bench", "mqttbench")
    build = os.path.abspath(a.build)

    # Descriptors for the idle-connection rows, for brokers and us.
    want = a.conns + 1000
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        a.conns = min(a.conns, hard - 1000)

    t0 = time.monotonic()
    rows = [r for r in scenarios(a.quick)
            if not a.k or any(k in r[0] for k in a.k)]
    results = []
    for i, (name, args) in enumerate(rows):
        # Alternate which broker goes first.
        order = ("brokerd", "mosquitto") if i % 2 == 0 else \
            ("mosquitto", "brokerd")
        res = {}
        for kind in order:
            b = Broker(kind, build)
            try:
                res[kind] = run_pubsub(bench, b, args)
            finally:
                b.stop()
        results.append((name, res))
        print(summary_line(name, res))
        sys.stdout.flush()

    conn_rows = []
    if not a.k or any(k in "idle connections" for k in a.k):
        for n in (10000, a.conns):
            res = {}
            for kind in ("brokerd", "mosquitto"):
                b = Broker(kind, build)
                try:
                    res[kind] = run_conns(bench, b, n, 2 + n // 10000)
                finally:
                    b.stop()
            conn_rows.append((n, res))
            print("idle %d: %s" % (n, json.dumps(res)))
            sys.stdout.flush()

    # TLS: brokerd (tlsproxy) and Mosquitto on the same certificate.
    tls_rows = []
    if not a.k or any(k in "tls" for k in a.k):
        secs = ["-d", "2" if a.quick else "4", "-w", "1"]
        for i, (name, args) in enumerate(TLS_LOADS):
            order = ("brokerd", "mosquitto") if i % 2 == 0 else \
                ("mosquitto", "brokerd")
            res = {}
            for kind in order:
                b = Broker(kind, build, tls=True)
                try:
                    if args is None:
                        res[kind] = run_conns(bench, b, 2000, 1, tls=True)
                    else:
                        res[kind] = run_pubsub(bench, b, ["-t"] + args +
                                               secs)
                finally:
                    b.stop()
            tls_rows.append((name, res))
            print("tls %s: %s" % (name, json.dumps(res)))
            sys.stdout.flush()
        shutil.rmtree(tls_files()[0], ignore_errors=True)

    # Persistence: Mosquitto's figures, the baseline for storaged.
    persist_row = None
    if not a.k or any(k in "persistence" for k in a.k):
        b = Broker("mosquitto", build, persist=True)
        try:
            persist_row = run_pubsub(bench, b, PERSIST_ARGS + [
                "-d", "2" if a.quick else "4", "-w", "1"])
        finally:
            b.stop()
        print("persistence mosquitto: %s" % json.dumps(persist_row))

    elapsed = time.monotonic() - t0
    text = report(results, conn_rows, build, elapsed, tls_rows, persist_row)
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


def summary_line(name, res):
    b, m = res.get("brokerd", {}), res.get("mosquitto", {})
    return "%-34s brokerd %8s/s %8s/cpu-s   mosquitto %8s/s %8s/cpu-s" % (
        name, fmt(b.get("delivered_per_sec")), fmt(b.get("per_cpu")),
        fmt(m.get("delivered_per_sec")), fmt(m.get("per_cpu")))


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, %s %s" % (model, os.cpu_count(), platform.system(),
                                    platform.release())


def report(results, conn_rows, build, elapsed, tls_rows=(),
           persist_row=None):
    out = []
    out.append("# brokerd against mosquitto")
    out.append("")
    out.append("Measured by `make bench` (tests/bench/run.py) on %s." %
               datetime.date.today().isoformat())
    out.append("")
    out.append("- Machine: %s" % machine())
    out.append("- %s; %s" % (version_of("brokerd", build),
                             version_of("mosquitto", build)))
    out.append("- Both on 127.0.0.1 in the same run, alternating; "
               "mosquitto with `max_inflight_messages 64` and "
               "`max_queued_messages 1000` (brokerd's defaults), "
               "brokerd with its defaults.  Load from "
               "tests/bench/mqttbench.c (MQTT 3.1.1, clean sessions).")
    out.append("- msg/s: messages delivered to subscribers per second; "
               "msg/cpu-s: the same per second of broker CPU time "
               "(all five brokerd processes summed; mosquitto's one); "
               "latency p50/p99 in microseconds, end to end (\">4s\": "
               "every message delivered in the window had been sent "
               "before it); lost, dup: messages the publishers sent "
               "(QoS 0) or had acknowledged (QoS 1, 2) that a "
               "subscriber had not got half a second after the end (and "
               "the last acknowledgement), "
               "or got twice.  QoS 0 publishers send as fast as they "
               "can, faster than the subscribers read, so both brokers "
               "drop QoS 0 messages they cannot pass on.")
    out.append("- The run took %.0f s." % elapsed)
    out.append("")
    out.append("| scenario | brokerd msg/s | mosquitto msg/s | ratio "
               "| brokerd msg/cpu-s | mosquitto msg/cpu-s | ratio "
               "| brokerd p50/p99 us | mosquitto p50/p99 us "
               "| brokerd lost/dup | mosquitto lost/dup |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, res in results:
        b, m = res.get("brokerd", {}), res.get("mosquitto", {})
        if "error" in b or "error" in m:
            out.append("| %s | error: %s %s |" % (name, b.get("error", ""),
                                                 m.get("error", "")))
            continue
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s "
                   "| %d/%d | %d/%d |" % (
                       name, fmt(b["delivered_per_sec"]),
                       fmt(m["delivered_per_sec"]),
                       ratio(b["delivered_per_sec"], m["delivered_per_sec"]),
                       fmt(b["per_cpu"]), fmt(m["per_cpu"]),
                       ratio(b["per_cpu"], m["per_cpu"]),
                       latency(b), latency(m),
                       b["lost"], b["duplicates"], m["lost"],
                       m["duplicates"]))
    if conn_rows:
        out.append("")
        out.append("| idle connections | brokerd connects/s "
                   "| mosquitto connects/s | brokerd KiB/conn "
                   "| mosquitto KiB/conn | ratio |")
        out.append("|---:|---:|---:|---:|---:|---:|")
        for n, res in conn_rows:
            b, m = res.get("brokerd", {}), res.get("mosquitto", {})
            if "error" in b or "error" in m:
                out.append("| %d | error: %s %s |" % (
                    n, b.get("error", ""), m.get("error", "")))
                continue
            out.append("| %d | %s | %s | %.2f | %.2f | %s |" % (
                n, fmt(b["connects_per_sec"]), fmt(m["connects_per_sec"]),
                b["rss_per_conn_kib"], m["rss_per_conn_kib"],
                ratio(b["rss_per_conn_kib"], m["rss_per_conn_kib"])))
    if tls_rows:
        out.append("")
        out.append("TLS 1.3, ECDSA P-256, no client certificates, the same "
                   "certificate for both; brokerd terminates TLS in "
                   "tlsproxy and relays to the engine, so its CPU is that "
                   "of all its processes.")
        out.append("")
        out.append("| TLS | brokerd | mosquitto | brokerd/mosquitto |")
        out.append("|---|---:|---:|---:|")
        for name, res in tls_rows:
            bd, m = res.get("brokerd", {}), res.get("mosquitto", {})
            if "error" in bd or "error" in m:
                out.append("| %s | error: %s %s | | |" % (
                    name, bd.get("error", ""), m.get("error", "")))
                continue
            if "connects_per_sec" in bd:
                out.append("| %s, per second | %s | %s | %s |" % (
                    name, fmt(bd["connects_per_sec"]),
                    fmt(m["connects_per_sec"]),
                    ratio(bd["connects_per_sec"], m["connects_per_sec"])))
                continue
            out.append("| %s msg/s | %s | %s | %s |" % (
                name, fmt(bd["delivered_per_sec"]),
                fmt(m["delivered_per_sec"]),
                ratio(bd["delivered_per_sec"], m["delivered_per_sec"])))
            out.append("| ... msg/cpu-s | %s | %s | %s |" % (
                fmt(bd["per_cpu"]), fmt(m["per_cpu"]),
                ratio(bd["per_cpu"], m["per_cpu"])))
            out.append("| ... p50/p99 us, lost/dup | %d/%d, %d/%d | "
                       "%d/%d, %d/%d | |" % (
                           bd["p50_us"], bd["p99_us"], bd["lost"],
                           bd["duplicates"], m["p50_us"], m["p99_us"],
                           m["lost"], m["duplicates"]))
    if persist_row and "error" not in persist_row:
        r = persist_row
        out.append("")
        out.append("Persistence, Mosquitto only: brokerd stores messages "
                   "in storaged, which does not exist yet; this is the "
                   "figure to compare its `sync` persistence with "
                   "(mosquitto `persistence true`, which writes its "
                   "database at intervals and on exit).")
        out.append("")
        out.append("| persistence | mosquitto |")
        out.append("|---|---:|")
        out.append("| pairs 20 QoS 1 1 KiB, persistent subscribers, "
                   "msg/s | %s |" % fmt(r["delivered_per_sec"]))
        out.append("| ... msg/cpu-s | %s |" % fmt(r["per_cpu"]))
        out.append("| ... p50/p99 us, lost/dup | %d/%d, %d/%d |" % (
            r["p50_us"], r["p99_us"], r["lost"], r["duplicates"]))
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
