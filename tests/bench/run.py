#!/usr/bin/python3
# make bench: the same scenarios against brokerd and Debian's mosquitto on
# this machine, in one run, alternating the two, and one table with the
# ratio brokerd/mosquitto per row.  Results go to tests/bench/RESULTS.md.
#
# The headline is the closed loop: a bounded number of deliveries in
# flight, as a streaming application sends.  Each closed-loop and
# fixed-rate row also runs through tests/bench/floor.c, the simplest
# relay, for the kernel's cost per delivery on this machine; brokerd's
# CPU per delivery is printed as a multiple of it.  The fixed-rate rows
# count system calls, epoll wake-ups and TCP segments per delivery
# (perf's tracepoint counters, in a second short run).  The open-loop
# ("firehose") rows are overload: publishers outrun subscribers.
#
#   run.py [--build DIR] [--quick] [-k SUBSTRING] [--repeat N] [--out FILE]

import argparse
import datetime
import json
import os
import platform
import re
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
# mosquitto's own default is Nagle's algorithm on (set_tcp_nodelay false);
# brokerd sets TCP_NODELAY.  --mosquitto-nodelay turns it off.
MOSQUITTO_NODELAY = False


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
    """CPU time of every thread of `pids', from schedstat (ns), or from
    stat (clock ticks) where there is none."""
    t = 0
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    t += int(f.read().split()[0]) / 1e9
                continue
            except (OSError, ValueError, IndexError):
                pass
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                t += (int(fields[11]) + int(fields[12])) / TICK
            except OSError:
                pass
    return t


def rss_kib(pids, field="VmRSS:"):
    """Resident memory summed over `pids'; VmHWM: the peak of each."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith(field):
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
        nodelay = MOSQUITTO_NODELAY
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
        elif kind == "floor":
            cmd = [os.path.join(build, "bench", "floor"), "-p",
                   str(self.port)]
        else:
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write("listener %d 127.0.0.1\n"
                        "allow_anonymous true\n"
                        "max_inflight_messages 64\n"
                        "max_queued_messages 1000\n"
                        "log_type error\n" % self.port)
                if nodelay:
                    f.write("set_tcp_nodelay true\n")
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


PERF_EVENTS = [("syscalls", "raw_syscalls:sys_enter"),
               ("wakeups", "syscalls:sys_enter_epoll_wait"),
               ("wakeups", "syscalls:sys_enter_epoll_pwait"),
               ("switches", "context-switches")]


def segments_out(port):
    """TCP segments sent so far on the broker's side of its clients'
    connections (pure ACKs included), from ss; None without ss."""
    try:
        r = subprocess.run(["ss", "-tinH", "state", "established",
                            "( sport = :%d )" % port],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    return sum(int(m) for m in re.findall(r"\bsegs_out:(\d+)", r.stdout))


def perf_start(pids, out):
    """perf's counters on `pids' until perf_stop(); None without perf."""
    if shutil.which("perf") is None:
        return None
    cmd = ["perf", "stat", "-x", ",", "-o", out, "-p",
           ",".join(str(p) for p in pids)]
    for _, ev in PERF_EVENTS:
        cmd += ["-e", ev]
    try:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None


def perf_stop(pp, out):
    if pp is None:
        return None
    pp.send_signal(signal.SIGINT)
    try:
        pp.wait(10)
    except subprocess.TimeoutExpired:
        pp.kill()
        return None
    counts = {}
    try:
        with open(out) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) < 3:
                    continue
                for key, ev in PERF_EVENTS:
                    if fields[2] == ev:
                        try:
                            counts[key] = counts.get(key, 0) + \
                                float(fields[0])
                        except ValueError:
                            pass   # "<not supported>"
    except OSError:
        return None
    return counts if "syscalls" in counts else None


def run_pubsub(bench, broker, args, timeout=120, perf=False):
    """One mqttbench run; the broker's CPU time over the measured window,
    its peak memory, and with `perf' its system calls, epoll waits, TCP
    segments sent and context switches."""
    cmd = [bench, "-p", str(broker.port)] + args
    pids = broker.pids()
    rss0 = rss_kib(pids)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    cpu0 = cpu1 = None
    result = None
    pp = segs0 = counts = None
    pout = os.path.join(broker.dir, "perf.out")
    for line in p.stdout:
        line = line.strip()
        if line == "measure-start":
            cpu0 = cpu_seconds(pids)
            if perf:
                pp = perf_start(pids, pout)
                segs0 = segments_out(broker.port)
        elif line == "measure-end":
            cpu1 = cpu_seconds(pids)
            counts = perf_stop(pp, pout)
            if perf and segs0 is not None and counts is not None:
                segs1 = segments_out(broker.port)
                if segs1 is not None:
                    counts["segments"] = segs1 - segs0
        elif line.startswith("{"):
            result = json.loads(line)
    p.wait(timeout)
    if result is None:
        return {"error": p.stderr.read().strip()[-200:]}
    result["cpu"] = (cpu1 - cpu0) if cpu0 is not None else 0
    d = result["delivered"]
    result["per_cpu"] = d / result["cpu"] if result["cpu"] > 0 else 0
    result["rss_start_kib"] = rss0
    result["rss_peak_kib"] = rss_kib(pids, "VmHWM:")
    if perf and counts is not None and d > 0:
        for k, v in counts.items():
            result["%s_per_delivery" % k] = v / d
    return result


def run_conns(bench, broker, n, nsrc, tls=False, resume=False):
    base = rss_kib(broker.pids())
    p = subprocess.Popen([bench, "-p", str(broker.port), "-n", str(n),
                          "-B", str(nsrc)] + (["-t"] if tls else []) +
                         (["-R"] if resume else []),
                         stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    result = None
    pids = broker.pids()
    cpu0 = cpu_seconds(pids)
    for line in p.stdout:
        if line.startswith("{"):
            result = json.loads(line)
            break
    if result is None:
        p.kill()
        return {"error": p.stderr.read().strip()[-200:]}
    # All of the broker's CPU while the connections came in (its
    # processes summed): handshakes and CONNECTs per CPU-second.
    cpu = cpu_seconds(pids) - cpu0
    result["connects_per_cpu"] = n / cpu if cpu > 0 else None
    time.sleep(1)   # let the broker settle before reading its memory
    rss = rss_kib(broker.pids())
    result["rss_per_conn_kib"] = (rss - base) / n
    p.stdin.close()
    p.wait(60)
    return result


# Over TLS: handshakes ("full" or "resumed": 2000 connections, each with
# its CONNECT; resumed ones offer a session ticket), then the fan-in,
# fan-out and pairs loads with 1 KiB messages, closed loop (at most 1000
# deliveries in flight in the whole run, as in the headline rows).
TLS_LOADS = [
    ("handshakes + CONNECT (2000)", "full"),
    ("resumed handshakes + CONNECT (2000)", "resumed"),
    ("fan-in 16>1 qos0 1KiB", ["-P", "16", "-S", "1", "-T", "1", "-q", "0",
                               "-s", "1024", "-L", "1000"]),
    ("fan-out 1>64 qos0 1KiB", ["-P", "1", "-S", "64", "-T", "1", "-q",
                                "0", "-s", "1024", "-L", "1000"]),
    ("pairs 20 qos1 1KiB", ["-P", "20", "-S", "20", "-T", "20", "-q", "1",
                            "-s", "1024", "-L", "1000"]),
]


# QoS 1 to subscribers that keep their sessions, for persistence.
PERSIST_ARGS = ["-c", "-P", "20", "-S", "20", "-T", "20", "-q", "1", "-s",
                "1024"]


TOPOS = (("fan-in 16>1", ["-P", "16", "-S", "1", "-T", "1"]),
         ("fan-out 1>64", ["-P", "1", "-S", "64", "-T", "1"]),
         ("pairs 100", ["-P", "100", "-S", "100", "-T", "100"]))

# Closed loop: deliveries in flight in the whole run.  16 KiB messages
# get a smaller window, 4 MiB in flight: with 1000 (16 MiB) the loopback
# device's backlog (netdev_max_backlog, 1000 packets) overflows and TCP
# retransmits, on any relay, which measures the kernel's timers.
WINDOW = {64: 1000, 16384: 256}


def scenarios(quick):
    """(section, name, mqttbench arguments, with floor, with perf)."""
    secs = ["-d", "1" if quick else "2", "-w", "0.5"]
    rows = []
    for size in (64, 16384):
        for qos in (0, 1, 2):
            for name, topo in TOPOS:
                if quick and size == 16384 and name != "pairs 100":
                    continue
                rows.append(("closed", "%s qos%d %dB" % (name, qos, size),
                             topo + ["-q", str(qos), "-s", str(size),
                                     "-L", str(WINDOW[size])] + secs,
                             True, False))
    rsecs = ["-d", "2" if quick else "3", "-w", "0.5"]
    for qos in (0, 1, 2):
        rows.append(("rate", "pairs 100, 5000 msg/s, qos%d" % qos,
                     ["-P", "100", "-S", "100", "-T", "100", "-q", str(qos),
                      "-s", "64", "-r", "5000"] + rsecs, True, True))
    for qos in (0, 1):
        rows.append(("rate", "fan-out 1>64, 1000 publishes/s, qos%d" % qos,
                     ["-P", "1", "-S", "64", "-T", "1", "-q", str(qos),
                      "-s", "64", "-r", "1000"] + rsecs, True, True))
    # 10,000 connections, 1 message a second each: 5000 publishers to
    # 5000 subscribers, from several source addresses.
    rows.append(("rate", "10000 connections, 1 msg/s each, qos1",
                 ["-P", "5000", "-S", "5000", "-T", "5000", "-q", "1",
                  "-s", "64", "-r", "5000", "-B", "4"] + rsecs, True, True))
    osecs = ["-d", "2" if quick else "3", "-w", "1"]
    for qos, size in ((0, 64), (1, 64), (0, 16384)):
        for name, topo in TOPOS:
            if quick and name != "pairs 100":
                continue
            rows.append(("open", "%s qos%d %dB" % (name, qos, size),
                         topo + ["-q", str(qos), "-s", str(size)] + osecs,
                         False, False))
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


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def median_run(runs):
    """The run with the median msg/cpu-s, or an error."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    ok.sort(key=lambda r: r["per_cpu"])
    return ok[(len(ok) - 1) // 2]


def run_row(bench, build, i, section, args, with_floor, with_perf, repeat):
    kinds = ["brokerd", "mosquitto"] + (["floor"] if with_floor else [])
    runs = {k: [] for k in kinds}
    for rep in range(repeat):
        # Alternate which goes first.
        n = (i + rep) % len(kinds)
        for kind in kinds[n:] + kinds[:n]:
            b = Broker(kind, build)
            try:
                runs[kind].append(run_pubsub(bench, b, args))
            finally:
                b.stop()
    res = {k: median_run(v) for k, v in runs.items()}
    res["runs"] = runs
    if with_perf:
        # Counted in a short run of its own, so that the counting does
        # not weigh on the CPU time above.
        short = list(args)
        short[short.index("-d") + 1] = "1"
        for kind in ("brokerd", "mosquitto"):
            if "error" in res[kind]:
                continue
            b = Broker(kind, build)
            try:
                r = run_pubsub(bench, b, short, perf=True)
            finally:
                b.stop()
            for key in list(r):
                if key.endswith("_per_delivery"):
                    res[kind][key] = r[key]
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--mosquitto-nodelay", action="store_true")
    a = ap.parse_args()
    global MOSQUITTO_NODELAY
    MOSQUITTO_NODELAY = a.mosquitto_nodelay
    bench = os.path.join(a.build, "bench", "mqttbench")
    build = os.path.abspath(a.build)

    # Descriptors for 10,000 connections and the idle-connection rows,
    # for the brokers and the load generator.
    want = max(a.conns, 10000) + 1000
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        a.conns = min(a.conns, hard - 1000)

    t0 = time.monotonic()
    load0, busy0 = loadavg(), cpu_busy()
    rows = [r for r in scenarios(a.quick)
            if not a.k or any(k in r[0] + " " + r[1] for k in a.k)]
    results = []
    for i, (section, name, args, fl, pf) in enumerate(rows):
        res = run_row(bench, build, i, section, args, fl, pf, a.repeat)
        results.append((section, name, res))
        print(summary_line(section, name, res))
        sys.stdout.flush()

    conn_rows = []
    if not a.k or any(k in "idle connections" for k in a.k):
        for n in sorted(set((10000, a.conns))):
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
                    if isinstance(args, str):
                        res[kind] = run_conns(bench, b, 2000, 1, tls=True,
                                              resume=args == "resumed")
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
                "-d", "2", "-w", "1"])
        finally:
            b.stop()
        print("persistence mosquitto: %s" % json.dumps(persist_row))

    elapsed = time.monotonic() - t0
    busy1 = cpu_busy()
    load = {"start": load0, "end": loadavg(),
            "busy": 100.0 * (busy1[0] - busy0[0]) /
            max(1, busy1[1] - busy0[1]),
            "repeat": a.repeat}
    text = report(results, conn_rows, build, elapsed, tls_rows, persist_row,
                  load)
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


def summary_line(section, name, res):
    out = "%-6s %-40s" % (section, name)
    for kind in ("brokerd", "mosquitto", "floor"):
        if kind in res:
            r = res[kind]
            out += " %s %s/s %s/cpu-s" % (kind, fmt(r.get(
                "delivered_per_sec")), fmt(r.get("per_cpu")))
    return out


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


def lostdup(r):
    return "%d/%d" % (r["lost"], r["duplicates"])


def spread(res, a="brokerd", b="mosquitto"):
    """The range of the ratio a/b over the repeated runs."""
    ra, rb = res["runs"].get(a, []), res["runs"].get(b, [])
    v = [x["per_cpu"] / y["per_cpu"] for x, y in zip(ra, rb)
         if "error" not in x and "error" not in y and x["per_cpu"] > 0 and
         y["per_cpu"] > 0]
    if len(v) < 2:
        return ""
    return " (%.2f-%.2f)" % (min(v), max(v))


def per_delivery(r, key):
    v = r.get(key + "_per_delivery")
    return "-" if v is None else "%.2f" % v


def counts(r):
    return "/".join(per_delivery(r, k)
                    for k in ("syscalls", "wakeups", "segments"))


def rss(r):
    return "%.0f (%.0f)" % (r["rss_peak_kib"] / 1024,
                            r["rss_start_kib"] / 1024)


def floor_multiple(res):
    """brokerd's CPU per delivery as a multiple of the floor's."""
    b, f = res.get("brokerd", {}), res.get("floor", {})
    if "error" in b or "error" in f or not b.get("per_cpu") or \
            not f.get("per_cpu"):
        return "-"
    return "%.2f" % (f["per_cpu"] / b["per_cpu"])


def errors(res):
    e = ["%s: %s" % (k, res[k]["error"]) for k in
         ("brokerd", "mosquitto", "floor") if k in res and
         "error" in res[k]]
    return "; ".join(e)


def report(results, conn_rows, build, elapsed, tls_rows=(),
           persist_row=None, load=None):
    out = []
    out.append("# brokerd against mosquitto")
    out.append("")
    out.append("Measured by `make bench` (tests/bench/run.py) on %s." %
               datetime.date.today().isoformat())
    out.append("")
    out.append("- Machine: %s" % machine())
    if load is not None:
        out.append("- Load: load average %s at the start, %s at the end; "
                   "the machine's CPUs were %.0f%% busy over the run "
                   "(ours included)%s." % (
                       load["start"], load["end"], load["busy"],
                       "; each row run %d times, the median shown, the "
                       "range of the ratio in brackets" % load["repeat"]
                       if load["repeat"] > 1 else ""))
        if float(load["start"].split()[0]) > os.cpu_count() / 2:
            out.append("- The machine was busy with other work when this "
                       "ran: these figures are indicative.")
    out.append("- %s; %s" % (version_of("brokerd", build),
                             version_of("mosquitto", build)))
    out.append("- Both on 127.0.0.1 in the same run, alternating; "
               "mosquitto with `max_inflight_messages 64` and "
               "`max_queued_messages 1000` (brokerd's defaults)%s, "
               "brokerd with its defaults.  Load from "
               "tests/bench/mqttbench.c (MQTT 3.1.1, clean sessions); "
               "QoS 1 and 2 publishers keep at most 64 messages in "
               "flight each." % (" and `set_tcp_nodelay true`"
                                 if MOSQUITTO_NODELAY else
                                 ", Nagle's algorithm on (its default)"))
    out.append("- msg/s: messages delivered to subscribers per second; "
               "msg/cpu-s: the same per second of broker CPU time "
               "(all five brokerd processes summed; mosquitto's one); "
               "latency p50/p99 in microseconds, end to end; lost, dup: "
               "messages the publishers sent (QoS 0) or had "
               "acknowledged (QoS 1, 2) that a subscriber had not got "
               "half a second after the end, or got twice.")
    out.append("- floor: tests/bench/floor.c, the simplest relay "
               "(forwards each PUBLISH as it came to the subscribers of "
               "its topic, acknowledges what the QoS flows need, keeps "
               "no state, one write per socket per turn): the kernel's "
               "cost per delivery on this machine.  \"x floor\": "
               "brokerd's CPU per delivery as a multiple of the "
               "floor's.")
    out.append("- The run took %.0f s." % elapsed)

    sections = (
        ("closed", "Closed loop",
         "At most %d deliveries in flight between publish and receipt in "
         "the whole run (%d for 16 KiB messages), refilled as they "
         "arrive; a publish to 64 subscribers counts 64.  The floor keeps "
         "no in-flight window: at QoS 1 and 2 a broker sends one "
         "subscriber at most 64 messages before it acknowledges them "
         "(both brokers' setting here), so in fan-in its multiple is the "
         "cost of that window, not of the broker's code." % (
             WINDOW[64], WINDOW[16384]),
         ["brokerd msg/s", "mosquitto msg/s", "brokerd msg/cpu-s",
          "mosquitto msg/cpu-s", "ratio", "floor msg/cpu-s", "x floor",
          "brokerd p50/p99 us", "mosquitto p50/p99 us",
          "brokerd lost/dup", "mosquitto lost/dup"],
         lambda res, b, m: [
             fmt(b["delivered_per_sec"]), fmt(m["delivered_per_sec"]),
             fmt(b["per_cpu"]), fmt(m["per_cpu"]),
             ratio(b["per_cpu"], m["per_cpu"]) + spread(res),
             fmt(res["floor"]["per_cpu"]), floor_multiple(res),
             latency(b), latency(m), lostdup(b), lostdup(m)]),
        ("rate", "Fixed rates",
         "Publishes spread evenly in time (message g of the run is sent "
         "at g/rate seconds).  sys, waits, segs: per delivery, the "
         "system calls and epoll waits of all broker processes (perf's "
         "tracepoint counters) and the TCP segments the broker sent to "
         "its clients, pure ACKs included (ss), in a second, 1-second "
         "run.",
         ["brokerd msg/cpu-s", "mosquitto msg/cpu-s", "ratio",
          "floor msg/cpu-s", "x floor", "brokerd p50/p99 us",
          "mosquitto p50/p99 us", "brokerd sys/waits/segs",
          "mosquitto sys/waits/segs", "brokerd lost/dup",
          "mosquitto lost/dup"],
         lambda res, b, m: [
             fmt(b["per_cpu"]), fmt(m["per_cpu"]),
             ratio(b["per_cpu"], m["per_cpu"]) + spread(res),
             fmt(res["floor"]["per_cpu"]), floor_multiple(res),
             latency(b), latency(m), counts(b), counts(m), lostdup(b),
             lostdup(m)]),
        ("open", "Overload (open loop)",
         "Publishers send as fast as TCP takes it (QoS 1 and 2: 64 in "
         "flight each), faster than the subscribers read: this is what "
         "each broker does when it cannot keep up - what it delivers, "
         "what it drops, how much memory it grows to - not how fast it "
         "is.  QoS 0 messages a broker cannot pass on are dropped by "
         "design.  Peak RSS: the sum of the processes' VmHWM, in MiB (at "
         "the start in brackets).",
         ["brokerd msg/s", "mosquitto msg/s", "brokerd p50/p99 us",
          "mosquitto p50/p99 us", "brokerd lost/dup", "mosquitto lost/dup",
          "brokerd peak RSS", "mosquitto peak RSS"],
         lambda res, b, m: [
             fmt(b["delivered_per_sec"]), fmt(m["delivered_per_sec"]),
             latency(b), latency(m), lostdup(b), lostdup(m), rss(b),
             rss(m)]))
    for key, title, intro, columns, cells in sections:
        rows = [r for r in results if r[0] == key]
        if not rows:
            continue
        out += ["", "## " + title, "", intro, "",
                "| scenario | %s |" % " | ".join(columns),
                "|---|%s|" % "|".join("---:" for _ in columns)]
        for _, name, res in rows:
            e = errors(res)
            if e:
                out.append("| %s | error: %s |" % (name, e))
                continue
            out.append("| %s | %s |" % (name, " | ".join(
                cells(res, res["brokerd"], res["mosquitto"]))))
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
                   "of all its processes; the loads are closed loop (at most 1000 "
                   "deliveries in flight).")
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
                out.append("| ... per CPU-second | %s | %s | %s |" % (
                    fmt(bd["connects_per_cpu"]), fmt(m["connects_per_cpu"]),
                    ratio(bd["connects_per_cpu"], m["connects_per_cpu"])))
                if bd.get("resumed") or m.get("resumed"):
                    out.append("| ... resumed by the server | %d | %d | |" %
                               (bd.get("resumed", 0), m.get("resumed", 0)))
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
