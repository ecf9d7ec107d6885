# brokerctl against a running broker with real clients connected: every
# verb as text and as JSON, who may change what, hostile input on the
# control socket, and a listing of 10,000 clients that streams.

import grp
import json
import os
import pwd
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import time

import harness
import mqttraw as raw
from harness import (CLEANUP, IS_ROOT, USERS, Sub, TestFailure, binary,
                     broker, check, mem_bound, pub, wait_for)
from pahoclient import Paho, props


def paho(b, **kw):
    c = Paho(b.port, **kw)
    CLEANUP.append(lambda: c.close(disconnect=False))
    return c


def ctl(b, *args, **kw):
    return b.ctl(*args, **kw)


def jctl(b, *args, **kw):
    r = ctl(b, "-j", *args, **kw)
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise TestFailure("brokerctl -j %s: not JSON (%s): %r" % (
            " ".join(args), e, r.stdout[:2000]))


def mosquitto_sub(b, client_id, topic, extra=()):
    """A mosquitto_sub that stays connected until the test ends."""
    cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.port),
           "-i", client_id, "-t", topic] + list(extra)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)

    def kill():
        if p.poll() is None:
            p.kill()
            p.wait()
    CLEANUP.append(kill)
    return p


# The control protocol by hand: a header (type, flags, length, id) and a
# msgpack array.  Message numbers are the rows of ipc/ipc.h in order.
def ipc_types():
    with open(harness.path("ipc", "ipc.h")) as f:
        names = re.findall(r"X\((IPC_[A-Z_]+),", f.read())
    return {n: i + 1 for i, n in enumerate(names)}


T = ipc_types()


def mp_str(s):
    b = s.encode() if isinstance(s, str) else s
    if len(b) < 32:
        return bytes([0xa0 | len(b)]) + b
    if len(b) < 256:
        return b"\xd9" + bytes([len(b)]) + b
    return b"\xda" + struct.pack(">H", len(b)) + b


def frame(type_, payload=b"\x90", flags=0, id_=0, length=None):
    if isinstance(type_, str):
        type_ = T[type_]
    n = len(payload) if length is None else length
    return struct.pack("=HHII", type_, flags, n, id_) + payload


def request(name, *fields):
    body = bytes([0x90 | len(fields)])
    for f in fields:
        body += (b"\xc3" if f else b"\xc2") if isinstance(f, bool) \
            else mp_str(f)
    return frame(name, body)


def ctl_socket(b, path=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path or b.control)
    s.settimeout(10)
    return s


def read_frames(s, data=b""):
    """(type, payload) of each frame until EOF, IPC_CTL_END or ERROR;
    `data' is what was read of the stream already."""
    out = []
    while True:
        while len(data) >= 12:
            t, fl, n, i = struct.unpack("=HHII", data[:12])
            if len(data) < 12 + n:
                break
            out.append((t, data[12:12 + n]))
            data = data[12 + n:]
            if t in (T["IPC_CTL_END"], T["IPC_CTL_ERROR"]):
                return out
        chunk = s.recv(65536)
        if not chunk:
            return out
        data += chunk


def closed_by_engine(s, timeout=10):
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def by(items, key):
    return {i[key]: i for i in items}


def test_ctl_every_show_verb():
    mon = "/tmp/brokerd-mon-%d.sock" % os.getpid()
    b = broker(extra='monitor socket "%s"' % mon)
    b.start()
    CLEANUP.append(lambda: os.path.exists(mon) and os.unlink(mon))
    mosquitto_sub(b, "watcher", "sensors/#", ["-u", "alice", "-q", "1",
                  "-V", "mqttv5", "-c", "-x", "300", "-k", "30"])
    d2 = paho(b, client_id="dev2", clean=False)
    d2.subscribe("sensors/door", 2)
    d2.subscribe("$share/g/sensors/+", 0)
    gone = paho(b, client_id="gone", v5=True,
                props=props("CONNECT", SessionExpiryInterval=600))
    gone.subscribe("x/y", 1)
    gone.close()
    b.wait_subs(4)
    pub(b, "sensors/door", "open", qos=1, args=["-r"])
    pub(b, "sensors/temp", "21.5\x01", args=["-r"])
    wait_for(lambda: b.stat("retained") == 2, 10, "2 retained")

    # show clients: two connected, "gone" is not.
    r = ctl(b, "show", "clients")
    check("watcher" in r.stdout and "dev2" in r.stdout and
          "gone" not in r.stdout and r.stdout.startswith("CLIENT ID"),
          "show clients:\n" + r.stdout)
    cl = by(jctl(b, "show", "clients"), "client_id")
    check(sorted(cl) == ["dev2", "watcher"], "clients %s" % cl)
    w = cl["watcher"]
    check(w["user"] == "alice" and w["protocol"] == "5" and
          w["keepalive"] == 30 and w["subscriptions"] == 1 and
          w["address"].startswith("127.0.0.1:") and
          w["listener"] == "127.0.0.1 port %d" % b.port and
          abs(w["connected_since"] - time.time()) < 120 and
          w["bytes_received"] > 0 and w["bytes_sent"] > 0,
          "watcher: %s" % w)
    check(cl["dev2"]["user"] is None and cl["dev2"]["protocol"] == "3.1.1"
          and cl["dev2"]["subscriptions"] == 2, "dev2: %s" % cl["dev2"])
    for k in ("inflight", "queued"):
        check(isinstance(w[k], int), "%s in %s" % (k, w))
    r = ctl(b, "sh", "cl", "watcher")
    check(re.search(r"user: +alice", r.stdout) and
          "MQTT 5" in r.stdout, "show clients ID:\n" + r.stdout)
    check(len(jctl(b, "show", "clients", "dev2")) == 1, "one client")
    r = ctl(b, "show", "clients", "gone", check_rc=False)
    check(r.returncode == 1 and "not connected" in r.stderr,
          "an offline client: %d %s" % (r.returncode, r.stderr))
    r = ctl(b, "show", "clients", "nobody", check_rc=False)
    check(r.returncode == 1 and "no such client" in r.stderr, r.stderr)

    # show sessions: offline ones too, with their expiry.
    se = by(jctl(b, "show", "sessions"), "client_id")
    check(sorted(se) == ["dev2", "gone", "watcher"], "sessions %s" % se)
    g = se["gone"]
    check(not g["online"] and g["expiry"] == 600 and
          500 < g["expires_in"] <= 600 and g["subscriptions"] == 1,
          "gone: %s" % g)
    check(se["watcher"]["online"] and se["watcher"]["expiry"] == 300 and
          se["watcher"]["expires_in"] is None, "watcher: %s" %
          se["watcher"])
    check(se["dev2"]["expiry"] == 604800, "3.1.1 clean 0: a week: %s" %
          se["dev2"])
    r = ctl(b, "sh", "se")
    check(re.search(r"gone +offline", r.stdout), r.stdout)
    check(len(jctl(b, "show", "sessions", "gone")) == 1, "one session")

    # show subscriptions: all, of a client, overlapping a filter.
    subs = jctl(b, "show", "subscriptions")
    check(len(subs) == 4, "4 subscriptions: %s" % subs)
    mine = jctl(b, "show", "subscriptions", "dev2")
    check(sorted(s["filter"] for s in mine) ==
          ["$share/g/sensors/+", "sensors/door"], "dev2's: %s" % mine)
    check(all(s["client_id"] == "dev2" for s in mine), "dev2 only")
    door = jctl(b, "sh", "su", "sensors/door")
    check(sorted((s["client_id"], s["filter"]) for s in door) ==
          [("dev2", "$share/g/sensors/+"), ("dev2", "sensors/door"),
           ("watcher", "sensors/#")], "who gets sensors/door: %s" % door)
    check(by(door, "filter")["sensors/door"]["qos"] == 2, "qos")
    check([s["client_id"] for s in jctl(b, "sh", "su", "x/#")] ==
          ["gone"], "x/#")
    r = ctl(b, "show", "subscriptions", "a/#/b", check_rc=False)
    check(r.returncode == 1, "a bad filter: %s" % r.stderr)

    # show retained: a snapshot, payloads escaped in JSON.
    ret = by(jctl(b, "show", "retained"), "topic")
    check(set(ret) >= {"sensors/door", "sensors/temp"}, "retained %s" %
          ret)
    check(ret["sensors/door"]["payload"] == "open" and
          ret["sensors/door"]["qos"] == 1 and
          ret["sensors/temp"]["payload"] == "21.5\x01" and
          ret["sensors/temp"]["size"] == 5 and
          not ret["sensors/temp"]["payload_truncated"],
          "retained: %s" % ret)
    one = jctl(b, "show", "retained", "sensors/temp")
    check([m["topic"] for m in one] == ["sensors/temp"], "%s" % one)
    r = ctl(b, "sh", "ret")
    check(re.search(r"sensors/door +1 +4 never +open", r.stdout),
          r.stdout)

    # show listeners
    li = jctl(b, "show", "listeners")
    check(len(li) == 2 and li[0]["type"] == "mqtt" and
          li[0]["family"] == "tcp" and li[1]["family"] == "unix" and
          li[0]["connections"] >= 2 and li[0]["accepted"] >= 5 and
          li[0]["anonymous"] and li[0]["max_connections"] is None,
          "listeners: %s" % li)

    # show processes: what the parent knows, what /proc says.
    pr = by(jctl(b, "show", "processes"), "process")
    kids = b.children()
    check(sorted(pr) == sorted(["parent"] + list(kids)), "%s" % pr)
    check(pr["parent"]["pid"] == b.pid, "parent pid")
    for name, pid in kids.items():
        p = pr[name]
        check(p["pid"] == pid and p["rss_bytes"] > 0 and
              p["vsz_bytes"] >= p["rss_bytes"] and
              "seccomp filter" in p["sandbox"], "%s: %s" % (name, p))
        if IS_ROOT:
            check(p["user"] == USERS[name] and
                  p["uid"] == pwd.getpwnam(USERS[name]).pw_uid,
                  "%s: user %s" % (name, p))
            want = b.datadir if name == "storaged" else b.chroot
            check(p["root"] == want, "%s: root %s" % (name, p["root"]))
    r = ctl(b, "sh", "pr")
    check(r.stdout.startswith("PROCESS") and len(r.stdout.splitlines())
          == 6, r.stdout)

    # show stats, and the same over the monitor socket.
    st = jctl(b, "show", "stats")
    check("control.refused" in st and "control.errors" in st, "%s" % st)
    check(jctl(b, "show", "sessions", sock=mon)[0]["client_id"] == "dev2",
          "the monitor socket shows")
    mode = stat.S_IMODE(os.stat(mon).st_mode)
    check(mode == 0o666, "monitor socket mode %o" % mode)
    b.stop()
    check(not os.path.exists(mon), "the monitor socket is removed")


def test_ctl_disconnect():
    b = broker().start()
    w = Sub(b, "wills/#", 1)
    b.wait_subs(1)
    k = raw.Client(b.port)
    CLEANUP.append(k.close)
    # MQTT 5, session expiry 600 s, a will.
    k.send(raw.connect("k1", 5, will=("wills/k1", "gone", 0, False),
                       properties=raw.props((0x11, struct.pack("!I",
                                                               600)))))
    check(raw.connack_reason(k.expect(2)) == (0, 0), "k1 connected")
    k.send(raw.subscribe(1, [("t", 1)], version=5))
    k.expect(9)
    r = ctl(b, "disconnect", "k1")
    check(r.stdout.strip() == "disconnected", r.stdout)
    first, body = k.expect(14)
    check(body[0] == 0x98, "DISCONNECT 0x98: %r" % body)
    check(k.closed(), "then closed")
    check(w.lines() == ["gone"], "the will went")
    s = jctl(b, "show", "sessions", "k1")[0]
    check(not s["online"] and s["subscriptions"] == 1, "kept: %s" % s)
    r = ctl(b, "disconnect", "k1", check_rc=False)
    check(r.returncode == 1 and "not connected" in r.stderr, r.stderr)
    check(jctl(b, "disconnect", "k1", "-s") ==
          {"result": "disconnected, session ended"}, "-s")
    # mosquitto_sub has gone too, once the broker has seen it close.
    wait_for(lambda: jctl(b, "show", "sessions") == [], 10,
             "no session left")
    r = ctl(b, "disconnect", "k1", check_rc=False)
    check(r.returncode == 1 and "no such client" in r.stderr, r.stderr)
    # MQTT 3.1.1 has no DISCONNECT from the server: the socket closes.
    k3 = raw.Client(b.port)
    CLEANUP.append(k3.close)
    k3.send(raw.connect("k3", 4, clean=False))
    k3.expect(2)
    ctl(b, "d", "-s", "k3")
    check(k3.closed(), "k3 closed")
    check(jctl(b, "show", "sessions") == [], "k3's session ended")
    b.wait_log("control: uid %d disconnects client k3 and ends" %
               os.getuid())


def test_ctl_log_and_reload():
    b = broker(verbose=False).start()
    check(jctl(b, "log", "verbose") == {"result": "log level debug"},
          "log verbose")
    pub(b, "t", "x")
    b.wait_log("debug|connected, MQTT")
    check(ctl(b, "log", "b").stdout.strip() == "log level info", "brief")
    n = b.logtext().count("connected, MQTT")
    pub(b, "t", "x")
    b.stats()
    check(b.logtext().count("connected, MQTT") == n, "no debug lines")
    check(ctl(b, "reload").stdout.strip() == "configuration reloaded",
          "reload")
    b.write_conf(b.conf_text(extra="nonsense here"))
    r = ctl(b, "reload", check_rc=False)
    check(r.returncode == 1 and "has errors" in r.stderr, r.stderr)


def test_ctl_who_may_change():
    if not IS_ROOT:
        return
    mon = "/tmp/brokerd-mon-%d.sock" % os.getpid()
    b = broker(extra='monitor socket "%s"' % mon).start()
    CLEANUP.append(lambda: os.path.exists(mon) and os.unlink(mon))
    paho(b, client_id="victim")
    nobody = "nobody"
    check("uptime" in ctl(b, "show", "stats", sock=mon,
                          as_user=nobody).stdout, "nobody may look")
    for args in (["reload"], ["disconnect", "victim"], ["log", "verbose"]):
        r = ctl(b, *args, sock=mon, as_user=nobody, check_rc=False)
        check(r.returncode == 3 and "permission denied" in r.stderr,
              "%s on the monitor socket: %d %s" % (args, r.returncode,
                                                   r.stderr))
        # Root too: the monitor socket is read-only.
        r = ctl(b, *args, sock=mon, check_rc=False)
        check(r.returncode == 3, "%s as root on the monitor socket" % args)
    check(jctl(b, "show", "clients")[0]["client_id"] == "victim",
          "still connected")
    r = ctl(b, "reload", as_user=nobody, check_rc=False)
    check(r.returncode == 3, "nobody on the control socket: %d %s" % (
        r.returncode, r.stderr))
    check(b.stat("control.refused") >= 6, "refusals counted")
    # A control group: its members may change things.
    gname = grp.getgrgid(pwd.getpwnam(nobody).pw_gid).gr_name
    b2 = broker(extra='control group "%s"' % gname).start()
    st = os.stat(b2.control)
    check(stat.S_IMODE(st.st_mode) == 0o660 and
          st.st_gid == pwd.getpwnam(nobody).pw_gid, "mode 0660, group")
    r = ctl(b2, "reload", as_user=nobody)
    check("configuration reloaded" in r.stdout, r.stdout)


def test_ctl_hostile_input():
    """Whatever arrives on the control socket closes that connection and
    nothing else."""
    b = broker().start()
    engine = b.children()["engine"]
    keep = paho(b, client_id="bystander")
    cases = [
        ("garbage", b"\xff" * 64),
        ("oversized", frame("IPC_CTL_SHOW_STATS", b"", length=1 << 20)),
        ("unknown type", frame(9999)),
        ("a reply as a request", frame("IPC_CTL_STAT",
                                       b"\x92\xa1x\x01")),
        ("a daemon's message", frame("IPC_LOG", b"\x92\x01\xa1x")),
        ("wrong field type", frame("IPC_CTL_SHOW_CLIENTS", b"\x91\x05")),
        ("missing field", frame("IPC_CTL_SHOW_CLIENTS", b"\x90")),
        ("trailing bytes", frame("IPC_CTL_SHOW_STATS", b"\x90\x90")),
        ("an fd flag", frame("IPC_CTL_SHOW_STATS", flags=1)),
        ("unknown flags", frame("IPC_CTL_SHOW_STATS", flags=0x80)),
        ("a huge array", frame("IPC_CTL_SHOW_STATS",
                               b"\xdd\xff\xff\xff\xff")),
        ("deep nesting", frame("IPC_CTL_SHOW_CLIENTS",
                               b"\x91" * 64 + b"\xa0")),
        ("NUL in the argument", request("IPC_CTL_SHOW_CLIENTS", "a\0b")),
        ("two requests at once", request("IPC_CTL_SHOW_PROCESSES") +
         request("IPC_CTL_SHOW_STATS")),
    ]
    for name, data in cases:
        s = ctl_socket(b)
        s.sendall(data)
        frames = read_frames(s)
        check(closed_by_engine(s, 10), "%s: closed" % name)
        check(all(t != T["IPC_CTL_END"] for t, _ in frames),
              "%s: no reply" % name)
        s.close()
    # Half a request: closed after the request time limit.
    t0 = time.monotonic()
    s = ctl_socket(b)
    s.sendall(request("IPC_CTL_SHOW_CLIENTS", "x")[:14])
    check(closed_by_engine(s, 20), "half a request: closed")
    check(time.monotonic() - t0 > 3, "not before its time")
    s.close()
    # More than 32 connections at once: the rest are told, and closed.
    socks = [ctl_socket(b) for i in range(40)]
    busy = socks[-1]
    frames = read_frames(busy)
    check(frames and frames[-1][0] == T["IPC_CTL_ERROR"] and
          b"busy" in frames[-1][1], "the 41st: %r" % frames)
    for s in socks:
        s.close()
    # A good request still works (once the engine has seen the 40
    # close), and so does everything else.

    def good():
        s = ctl_socket(b)
        s.sendall(request("IPC_CTL_SHOW_CLIENTS", "bystander"))
        frames = read_frames(s)
        s.close()
        return [t for t, _ in frames] == [T["IPC_CTL_CLIENT"],
                                          T["IPC_CTL_END"]]
    wait_for(good, 10, "a good request answered")
    check(b.children()["engine"] == engine, "the same engine")
    check(b.proc.poll() is None, "brokerd runs")
    check(b.stat("control.errors") >= len(cases), "errors counted")
    keep.publish("t", b"x", qos=1)


def test_ctl_streams_10000_clients():
    """10,000 clients listed in chunks: a reader that stops reading holds
    one chunk of the engine's memory, and the engine serves meanwhile."""
    b = broker(verbose=False).start()
    n = 10000
    bench = subprocess.Popen([os.path.join(harness.BUILD, "bench",
                              "mqttbench"), "-p", str(b.port), "-n",
                              str(n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)

    def stop():
        if bench.poll() is None:
            bench.stdin.close()
            try:
                bench.wait(20)
            except subprocess.TimeoutExpired:
                bench.kill()
    CLEANUP.append(stop)
    line = bench.stdout.readline()
    check(line.strip() == "connected %d" % n, "mqttbench: %r" % line)
    b.wait_stat("clients", lambda v: v == n, 60, "%d clients" % n)
    rss0, _ = b.engine_memory()
    # A reader that stops after its first bytes.
    s = ctl_socket(b)
    s.sendall(request("IPC_CTL_SHOW_CLIENTS", ""))
    head = s.recv(100)
    time.sleep(1)
    rss1, _ = b.engine_memory()
    check(rss1 - rss0 < mem_bound(2048), "a stalled listing costs %d KiB"
          % (rss1 - rss0))
    # The engine goes on serving.
    w = Sub(b, "t", 1)
    b.wait_subs(1)
    t0 = time.monotonic()
    pub(b, "t", "during")
    check(w.lines() == ["during"], "a message meanwhile")
    check(time.monotonic() - t0 < 10, "promptly")
    check(b.stat("clients") >= n, "stats meanwhile")
    # The stalled reader gets the whole listing when it reads on.
    s.settimeout(30)
    frames = read_frames(s, head)
    check(frames and frames[-1][0] == T["IPC_CTL_END"], "ended: %r" %
          frames[-1:])
    nclient = sum(1 for t, _ in frames if t == T["IPC_CTL_CLIENT"])
    check(nclient == n, "%d clients listed, not %d" % (nclient, n))
    check(max(len(p) for _, p in frames) < 1024, "small records")
    s.close()
    cl = jctl(b, "show", "clients")
    check(len(cl) == n and len({c["client_id"] for c in cl}) == n,
          "JSON: %d clients" % len(cl))
    r = ctl(b, "show", "sessions")
    check(len(r.stdout.splitlines()) == n + 1, "sessions listed")
