# $SYS: the counters under Mosquitto's names (checked against Debian's
# mosquitto, run here), received with mosquitto_sub; and the client
# lifecycle events as JSON.

import json
import os
import re
import struct
import subprocess
import tempfile
import time

import harness
import mqttraw as raw
from harness import (CLEANUP, SANITIZE, Sub, broker, check, free_port, pub,
                     wait_for)
from pahoclient import Paho, props


def sys_topics(port, seconds=3, topic="$SYS/#"):
    """{topic: last payload} of what mosquitto_sub receives."""
    r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p",
                        str(port), "-t", topic, "-v", "-W", str(seconds)],
                       capture_output=True, text=True, timeout=seconds + 20)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"(\$SYS/broker/(?:retained messages/count|\S+)) (.*)",
                     line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def mosquitto_topics():
    """The $SYS topics of Debian's mosquitto, with sys_interval 1."""
    d = tempfile.mkdtemp(prefix="brokerd-mosq-")
    port = free_port()
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\n"
                "sys_interval 1\n" % port)
    p = subprocess.Popen(["mosquitto", "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop():
        p.kill()
        p.wait()
    CLEANUP.append(stop)
    wait_for(lambda: subprocess.run(
        ["mosquitto_pub", "-p", str(port), "-t", "x", "-m", "y"],
        capture_output=True).returncode == 0, 10, "mosquitto")
    return sys_topics(port)


def test_sys_topics_as_mosquitto_names_them():
    theirs = mosquitto_topics()
    check(len(theirs) > 40, "mosquitto's $SYS: %s" % theirs)
    b = broker(extra="sys interval 1").start()
    ours = sys_topics(b.port)
    missing = sorted(set(theirs) - set(ours))
    if SANITIZE:
        # ASan's allocator: glibc cannot say what is on the heap.
        missing = [t for t in missing if "/heap/" not in t]
    check(missing == [], "not published: %s" % missing)
    check(ours["$SYS/broker/version"].startswith("brokerd version "),
          ours["$SYS/broker/version"])
    check(re.fullmatch(r"\d+ seconds", ours["$SYS/broker/uptime"]),
          ours["$SYS/broker/uptime"])
    for t, v in ours.items():
        if "/load/" in t:
            check(re.fullmatch(r"\d+\.\d\d", v), "%s %s" % (t, v))
        elif t not in ("$SYS/broker/version", "$SYS/broker/uptime"):
            check(re.fullmatch(r"\d+", v), "%s %s" % (t, v))


def test_sys_counters_move_and_are_retained():
    b = broker(extra="sys interval 1").start()
    s = Sub(b, "t", 1)
    b.wait_subs(1)
    for i in range(5):
        pub(b, "t/x", "hello")
    pub(b, "t", "12345")
    check(s.lines() == ["12345"], "delivered")
    pub(b, "r", "kept", args=["-r"])

    def moved():
        v = sys_topics(b.port, 2)
        return v if (int(v.get("$SYS/broker/publish/messages/received",
                                 0)) >= 7 and
                     int(v.get("$SYS/broker/retained messages/count", 0))
                     >= 1) else None
    v = wait_for(moved, 20, "the counters to move")
    check(int(v["$SYS/broker/publish/bytes/received"]) >= 5 * 5 + 5 + 4,
          "payload bytes: %s" % v["$SYS/broker/publish/bytes/received"])
    check(int(v["$SYS/broker/clients/maximum"]) >= 2, "maximum")
    check(int(v["$SYS/broker/messages/received"]) >
          int(v["$SYS/broker/publish/messages/received"]),
          "every packet counts in messages/received")
    # Retained: a new subscriber gets the version at once.
    r = subprocess.run(["mosquitto_sub", "-p", str(b.port), "-t",
                        "$SYS/broker/version", "-C", "1", "-W", "5"],
                       capture_output=True, text=True, timeout=20)
    check(r.stdout.startswith("brokerd version"), "retained: %r" % r.stdout)
    # $SYS is not matched by # (MQTT 4.7.2).
    r = subprocess.run(["mosquitto_sub", "-p", str(b.port), "-t", "#",
                        "-v", "-W", "2"], capture_output=True, text=True,
                       timeout=20)
    check("$SYS" not in r.stdout and "r kept" in r.stdout, r.stdout)


def test_sys_interval_zero_and_reload():
    b = broker(extra="sys interval 0").start()
    time.sleep(1.5)
    check(sys_topics(b.port, 1) == {}, "nothing with interval 0")
    b.write_conf(b.conf_text(extra="sys interval 1"))
    b.ctl("reload")
    v = wait_for(lambda: sys_topics(b.port, 2), 10, "$SYS after reload")
    check("$SYS/broker/uptime" in v, "%s" % v)


class Events:
    """A subscriber to $SYS/broker/events/#, decoding each payload."""

    def __init__(self, b):
        self.c = Paho(b.port, client_id="events-watcher")
        CLEANUP.append(lambda: self.c.close(disconnect=False))
        self.c.subscribe("$SYS/broker/events/#", 0)

    def all(self):
        out = []
        for m in list(self.c.msgs):
            d = json.loads(m.payload)
            check(m.topic == "$SYS/broker/events/" + d["event"],
                  "topic %s for %s" % (m.topic, d))
            out.append(d)
        return out

    def wait(self, event, client_id, timeout=15, **match):
        def found():
            for d in self.all():
                if d["event"] == event and d["client_id"] == client_id \
                        and all(d.get(k) == v for k, v in match.items()):
                    return d
            return None
        return wait_for(found, timeout, "event %s of %s %s in %s" % (
            event, client_id, match, self.all()))


def test_sys_events():
    b = broker(extra="sys events yes").start()
    ev = Events(b)
    # Connected, subscribed, unsubscribed, a normal disconnect.
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("e1", 5, username="alice", keepalive=30,
                       properties=raw.props((0x11, struct.pack("!I",
                                                               100)))))
    c.expect(2)
    d = ev.wait("connected", "e1")
    check(d["user"] == "alice" and d["protocol"] == "5" and
          d["keepalive"] == 30 and d["clean_start"] and
          not d["session_present"] and d["session_expiry"] == 100 and
          d["address"].startswith("127.0.0.1:") and
          d["listener"] == "127.0.0.1 port %d" % b.port and
          re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                       d["time"]), "connected: %s" % d)
    c.send(raw.subscribe(1, [("a/+", 0x01 | 0x04)], version=5,
                         properties=raw.props((0x0b, b"\x07"))))
    c.expect(9)
    d = ev.wait("subscribed", "e1")
    check(d["filter"] == "a/+" and d["qos"] == 1 and d["no_local"] and
          d["subscription_id"] == 7 and d["retain_handling"] == 0,
          "subscribed: %s" % d)
    c.send(raw.packet(0xa2, struct.pack("!H", 2) + b"\x00" + raw.s("a/+")))
    c.expect(11)
    check(ev.wait("unsubscribed", "e1")["filter"] == "a/+", "unsubscribed")
    c.send(raw.packet(0xe0, b"\x00\x00"))
    d = ev.wait("disconnected", "e1")
    check(d["reason"] == "normal disconnection" and d["reason_code"] == 0,
          "disconnected: %s" % d)
    # A connection that breaks, a takeover, the operator.
    c = raw.Client(b.port)
    c.send(raw.connect("e2", 4, clean=False))
    c.expect(2)
    c.close()
    d = ev.wait("disconnected", "e2")
    check(d["reason_code"] is None and "closed" in d["reason"],
          "broken: %s" % d)
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("e2", 5, clean=False))
    c.expect(2)
    check(ev.wait("connected", "e2", session_present=True), "resumed")
    c2 = raw.Client(b.port)
    CLEANUP.append(c2.close)
    c2.send(raw.connect("e2", 5, clean=False))
    c2.expect(2)
    d = ev.wait("disconnected", "e2", reason_code=0x8e)
    check(d["reason"] == "session taken over", "takeover: %s" % d)
    b.ctl("disconnect", "e2")
    d = ev.wait("disconnected", "e2", reason_code=0x98)
    check(d["reason"] == "administrative action", "kick: %s" % d)
    # Keep alive.
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("e3", 5, keepalive=1))
    c.expect(2)
    d = ev.wait("disconnected", "e3", reason_code=0x8d)
    check(d["reason"] == "keep alive timeout", "%s" % d)
    # A session that expires.
    c = raw.Client(b.port)
    c.send(raw.connect("e4", 5, properties=raw.props(
        (0x11, struct.pack("!I", 1)))))
    c.expect(2)
    c.close()
    d = ev.wait("expired", "e4")
    check(set(d) == {"event", "time", "client_id"}, "expired: %s" % d)
    check(b.stat("events") >= 10 and b.stat("events.dropped") == 0,
          "counted")
    check(b.stat("sessions.expired") == 1, "sessions.expired")


def test_sys_events_off_by_default():
    b = broker().start()
    s = Sub(b, "$SYS/broker/events/#", 1, timeout=3)
    b.wait_subs(1)
    pub(b, "t", "x")
    check(s.lines() == [], "no events unless asked for")
    check(b.stat("events") == 0, "none counted")
