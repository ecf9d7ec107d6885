# Topics only the broker publishes to: a client's PUBLISH to $SYS/... or
# to a topic beginning with $share/ is refused (MQTT 5: PUBACK/PUBREC
# 0x87; 3.1.1: acknowledged, dropped and counted), so no client forges
# broker statistics or confuses shared-subscription routing.

import subprocess

import mqttraw as raw
from harness import CLEANUP, broker, check, pub
from pahoclient import Paho

RESERVED = ["$SYS/broker/clients/connected", "$SYS", "$share/g/t",
            "$share/x"]


def rawc(b):
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    return c


def spy(b):
    """A subscriber to everything a client could reach: $SYS/#, # and a
    shared subscription."""
    s = Paho(b.port, "spy", v5=True)
    for f in ("$SYS/#", "$SYS", "#", "$share/g/t"):
        s.subscribe(f, qos=1)
    CLEANUP.append(s.close)
    return s


def test_mqtt5_refused_0x87():
    b = broker().start()
    s = spy(b)
    c = rawc(b)
    c.send(raw.connect("v5pub", version=5))
    c.expect(2)
    pid = 1
    for topic in RESERVED:
        for qos, kind in ((1, 4), (2, 5)):
            c.send(raw.publish(topic, "forged", qos=qos, pid=pid,
                               version=5))
            first, body = c.expect(kind)
            check(body[:2] == bytes([0, pid]) and body[2] == 0x87,
                  "%s QoS %d: reason 0x87, got %r" % (topic, qos, body))
            if kind == 5:
                c.send(raw.ack("pubrel", pid, version=5))
                c.expect(7)
            pid += 1
        c.send(raw.publish(topic, "forged", qos=0, version=5))
    # The connection stays, and an ordinary topic still goes through.
    c.send(raw.publish("plain/t", "ok", qos=1, pid=99, version=5))
    first, body = c.expect(4)
    check(len(body) == 2 or body[2] == 0, "ordinary topic accepted")
    s.wait_msgs(1)
    check([m.payload for m in s.msgs] == [b"ok"],
          "nothing forged delivered: %r" % [(m.topic, m.payload)
                                            for m in s.msgs])
    check(b.stat("publish.reserved_refused") == 3 * len(RESERVED),
          "counted: %d" % b.stat("publish.reserved_refused"))


def test_mqtt311_dropped_and_counted():
    """mosquitto_pub 3.1.1 is acknowledged (as Mosquitto does for an ACL
    denial) and nothing is delivered."""
    b = broker().start()
    s = spy(b)
    for topic in RESERVED:
        for qos in (0, 1, 2):
            pub(b, topic, "forged", qos=qos)
    pub(b, "plain/t", "ok", qos=1)
    s.wait_msgs(1)
    check([m.payload for m in s.msgs] == [b"ok"], "nothing forged "
          "delivered: %r" % [(m.topic, m.payload) for m in s.msgs])
    check(b.stat("publish.reserved_refused") == 3 * len(RESERVED),
          "counted")


def test_mosquitto_pub_v5_told():
    b = broker().start()
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                        str(b.port), "-V", "mqttv5", "-q", "1", "-t",
                        "$SYS/broker/uptime", "-m", "forged", "-d"],
                       capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    check("PUBACK" in out and ("135" in out or "not authori" in out.lower()),
          "mosquitto_pub sees 0x87: %s" % out)
    check(b.stat("publish.reserved_refused") == 1, "counted")


def test_similar_topics_are_not_reserved():
    b = broker().start()
    s = Paho(b.port, "near", v5=True)
    CLEANUP.append(s.close)
    topics = ["$SYSTEM/x", "a/$SYS/b", "$shared/x", "$SYSx"]
    for t in topics:
        s.subscribe(t, qos=1)
    for t in topics:
        pub(b, t, "m", qos=1, v5=True)
    s.wait_msgs(len(topics))
    check(sorted(m.topic for m in s.msgs) == sorted(topics), "delivered")
    check(b.stat("publish.reserved_refused") == 0, "none refused")


def test_will_to_sys_not_published():
    b = broker().start()
    s = spy(b)
    c = rawc(b)
    c.send(raw.connect("willer", version=4,
                       will=("$SYS/broker/forged", "bye", 1, False)))
    c.expect(2)
    c.close()
    b.wait_stat("publish.reserved_refused", lambda v: v == 1)
    pub(b, "plain/t", "after", qos=1)
    s.wait_msgs(1)
    check([m.payload for m in s.msgs] == [b"after"], "no forged will")
