# MQTT 3.1, 3.1.1 and 5.0 in the engine, driven by real clients:
# mosquitto_pub/mosquitto_sub, paho-mqtt, and raw packets where a
# library would not send what the test needs.

import os
import struct
import subprocess
import time

import mqttraw as raw
from harness import CLEANUP, Sub, TestFailure, broker, check, pub, wait_for
from pahoclient import Paho, props


def paho(b, **kw):
    c = Paho(b.port, **kw)
    CLEANUP.append(lambda: c.close(disconnect=False))
    return c


def rawc(b, **kw):
    c = raw.Client(b.port, **kw)
    CLEANUP.append(c.close)
    return c


def connect_raw(b, client_id="c", version=4, clean=True, keepalive=60,
                **kw):
    c = rawc(b)
    c.send(raw.connect(client_id, version, clean, keepalive, **kw))
    p = c.expect(2)
    return c, raw.connack_reason(p)


def test_mosquitto_pubsub_all_qos_both_versions():
    b = broker().start()
    subs = []
    for v5 in (False, True):
        for q in (0, 1, 2):
            subs.append((v5, q, Sub(b, "t/#", 6, qos=q, v5=v5,
                                    args=["-v"])))
    b.wait_subs(len(subs))
    sent = []
    for v5 in (False, True):
        for q in (0, 1, 2):
            m = "m-%s-%d" % ("5" if v5 else "311", q)
            pub(b, "t/x", m, qos=q, v5=v5)
            sent.append("t/x " + m)
    for v5, q, s in subs:
        got = s.lines()
        check(got == sent, "sub v5=%s qos=%d got %s" % (v5, q, got))
    st = b.stats()
    check(st["messages.received"] == 6, "received %s" % st)
    check(st["messages.sent"] == 36, "sent %s" % st)


def test_unix_listener():
    b = broker().start()
    s = Sub(b, "u", 1, args=["--unix", b.unix_path])
    b.wait_subs(1)
    r = subprocess.run(["mosquitto_pub", "--unix", b.unix_path, "-t", "u",
                        "-m", "over unix"], capture_output=True, text=True)
    check(r.returncode == 0, r.stderr)
    check(s.lines() == ["over unix"], "unix delivery")


def test_paho_v311_and_v5_qos_flows():
    b = broker().start()
    for v5 in (False, True):
        s = paho(b, client_id="psub%d" % v5, v5=v5)
        s.subscribe("p/#", qos=2)
        p = paho(b, client_id="ppub%d" % v5, v5=v5)
        for q in (0, 1, 2):
            p.publish("p/%d" % q, b"qos%d" % q, qos=q)
        msgs = s.wait_msgs(3)
        got = sorted((m.topic, m.payload, m.qos) for m in msgs)
        check(got == [("p/0", b"qos0", 0), ("p/1", b"qos1", 1),
                      ("p/2", b"qos2", 2)], "paho v5=%s: %s" % (v5, got))
        s.close()
        p.close()


def test_wildcards_and_dollar_topics():
    b = broker().start()
    c = paho(b, client_id="w")
    c.subscribe("#")
    c.subscribe("+/b")
    c.subscribe("a/+/c")
    d = paho(b, client_id="d")
    d.subscribe("$other/#")
    p = paho(b, client_id="p")
    # ($SYS is the broker's own: test_reserved.py.)
    for t in ("a/b", "a/x/c", "x", "$other/b"):
        p.publish(t, t.encode(), qos=1)
    # a/b matches # and +/b: one copy (overlapping subscriptions).
    c.wait_msgs(3)
    d.wait_msgs(1)
    p.publish("sync", b"sync", qos=1)
    c.wait_msgs(4)
    got = sorted(m.topic for m in c.msgs)
    check(got == ["a/b", "a/x/c", "sync", "x"],
          "wildcards must not match $ topics: %s" % got)
    check([m.topic for m in d.msgs] == ["$other/b"], "$other/# matches")


def test_retained_messages():
    b = broker().start()
    p = paho(b, client_id="p", v5=True)
    p.publish("r/1", b"one", qos=1, retain=True)
    p.publish("r/2", b"two", qos=0, retain=True)
    p.publish("r/3", b"gone", qos=1, retain=True)
    p.publish("r/3", b"", qos=1, retain=True)
    b.wait_stat("retained", lambda v: v == 2)
    s = paho(b, client_id="s", v5=True)
    s.subscribe("r/#", qos=1)
    msgs = s.wait_msgs(2)
    got = sorted((m.topic, m.payload, m.retain, m.qos) for m in msgs)
    check(got == [("r/1", b"one", True, 1), ("r/2", b"two", True, 0)],
          "retained on subscribe: %s" % got)
    # Live messages do not carry the retain flag...
    p.publish("r/1", b"live", qos=1, retain=True)
    s.wait_msgs(3)
    check(s.msgs[2].payload == b"live" and not s.msgs[2].retain,
          "live retain flag cleared")
    # ...unless the subscription says retain-as-published.
    import paho.mqtt.client as mqtt
    r = paho(b, client_id="rap", v5=True)
    r.subscribe("r/1", options=mqtt.SubscribeOptions(
        qos=1, retainAsPublished=True, retainHandling=2))
    p.publish("r/1", b"rap", qos=1, retain=True)
    r.wait_msgs(1)
    check(len(r.msgs) == 1 and r.msgs[0].retain and
          r.msgs[0].payload == b"rap",
          "retain handling 2 sends none; RAP keeps the flag")
    # Retain handling 1: only for a new subscription.
    h = paho(b, client_id="rh1", v5=True)
    h.subscribe("sync")
    h.subscribe("r/2", options=mqtt.SubscribeOptions(qos=0,
                                                     retainHandling=1))
    h.wait_msgs(1)
    h.subscribe("r/2", options=mqtt.SubscribeOptions(qos=0,
                                                     retainHandling=1))
    h.subscribe("r/2", options=mqtt.SubscribeOptions(qos=0,
                                                     retainHandling=0))
    p.publish("sync", b"sync", qos=1)
    h.wait_msgs(3)
    check(h.payloads() == [b"two", b"two", b"sync"],
          "RH 1 on an existing subscription sends nothing, RH 0 sends: "
          "%s" % h.payloads())


def test_retained_mosquitto_and_clear():
    b = broker().start()
    pub(b, "state/door", "open", qos=1, args=["-r"])
    r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p",
                        str(b.port), "-t", "state/#", "-C", "1", "-W", "5",
                        "-v"], capture_output=True, text=True)
    check(r.stdout.strip() == "state/door open", r.stdout)
    pub(b, "state/door", "", qos=1, args=["-r"])
    b.wait_stat("retained", lambda v: v == 0)


def test_shared_subscriptions_round_robin():
    b = broker().start()
    m1 = paho(b, client_id="m1", v5=True)
    m2 = paho(b, client_id="m2", v5=True)
    all_ = paho(b, client_id="all", v5=True)
    m1.subscribe("$share/g/jobs/#", qos=1)
    m2.subscribe("$share/g/jobs/#", qos=1)
    all_.subscribe("jobs/#", qos=1)
    p = paho(b, client_id="p", v5=True)
    for i in range(10):
        p.publish("jobs/%d" % i, b"%d" % i, qos=1)
    all_.wait_msgs(10)
    wait_for(lambda: len(m1.msgs) + len(m2.msgs) == 10, 10,
             "shared deliveries")
    check(len(m1.msgs) == 5 and len(m2.msgs) == 5,
          "round robin: %d and %d" % (len(m1.msgs), len(m2.msgs)))
    got = sorted(m1.payloads() + m2.payloads(), key=int)
    check(got == [b"%d" % i for i in range(10)], "each once: %s" % got)


def test_shared_subscription_errors():
    b = broker().start()
    c, _ = connect_raw(b, "x", version=5)
    # Malformed $share filters are refused per filter (0x8F).
    c.send(raw.subscribe(1, [("$share/g", 0), ("$share//t", 0),
                             ("$share/g+/t", 0), ("$share/g/t", 0)], 5))
    p = c.expect(9)
    check(p[1][3:] == bytes([0x8f, 0x8f, 0x8f, 0]), "SUBACK %r" % p[1])
    # No local on a shared subscription is a protocol error.
    c.send(raw.subscribe(2, [("$share/g/t", 0x04)], 5))
    p = c.expect(14)
    check(p[1][0] == 0x82, "DISCONNECT 0x82: %r" % p[1])


def test_overlapping_subscriptions_and_sub_ids():
    b = broker().start()
    c = paho(b, client_id="o", v5=True)
    c.subscribe("a/#", qos=0, props=props("SUBSCRIBE",
                                          SubscriptionIdentifier=7))
    c.subscribe("a/b", qos=2, props=props("SUBSCRIBE",
                                          SubscriptionIdentifier=9))
    p = paho(b, client_id="p", v5=True)
    p.publish("a/b", b"x", qos=2)
    c.wait_msgs(1)
    p.publish("a/sync", b"s", qos=1)
    c.wait_msgs(2)
    m = c.msgs[0]
    check(len(c.msgs) == 2 and m.qos == 2,
          "one copy at the highest QoS: %d msgs, qos %d" %
          (len(c.msgs), m.qos))
    ids = sorted(m.properties.SubscriptionIdentifier)
    check(ids == [7, 9], "both subscription identifiers: %s" % ids)


def test_no_local():
    import paho.mqtt.client as mqtt
    b = broker().start()
    c = paho(b, client_id="nl", v5=True)
    c.subscribe("n", options=mqtt.SubscribeOptions(qos=1, noLocal=True))
    o = paho(b, client_id="other", v5=True)
    c.publish("n", b"mine", qos=1)
    o.publish("n", b"theirs", qos=1)
    c.wait_msgs(1)
    o.publish("n", b"theirs2", qos=1)
    c.wait_msgs(2)
    check(c.payloads() == [b"theirs", b"theirs2"], "no local: %s" %
          c.payloads())


def test_will_on_abnormal_close_not_on_disconnect():
    b = broker().start()
    w = paho(b, client_id="watch")
    w.subscribe("will/#", qos=1)
    # Abnormal: the socket just goes away.
    c, (sp, rc) = connect_raw(b, "willer",
                              will=("will/a", "gone", 1, False))
    check(rc == 0, "CONNACK %d" % rc)
    c.close()
    w.wait_msgs(1)
    check(w.msgs[0].topic == "will/a" and w.msgs[0].payload == b"gone",
          "will published")
    # Normal DISCONNECT: no will.
    c, _ = connect_raw(b, "polite", will=("will/b", "no", 1, False))
    c.send(raw.DISCONNECT)
    check(c.closed(), "closed after DISCONNECT")
    # MQTT 5 DISCONNECT 0x04: will anyway.
    c, _ = connect_raw(b, "v5will", version=5,
                       will=("will/c", "with will", 0, False))
    c.send(raw.packet(0xe0, b"\x04"))
    w.wait_msgs(2)
    check([m.topic for m in w.msgs] == ["will/a", "will/c"],
          "wills: %s" % [m.topic for m in w.msgs])
    check(b.stat("wills") == 2, "two wills counted")


def test_will_delay_and_reconnect():
    b = broker().start()
    w = paho(b, client_id="watch")
    w.subscribe("wd/#")
    expiry = raw.props((0x11, struct.pack("!I", 60)))
    delay = raw.props((0x18, struct.pack("!I", 1)))
    # Reconnecting within the delay cancels the will.
    c, _ = connect_raw(b, "d1", version=5, properties=expiry,
                       will=("wd/1", "late", 0, False), will_props=delay)
    c.close()
    c2, (sp, rc) = connect_raw(b, "d1", version=5, clean=False,
                               properties=expiry)
    check(sp == 1, "session present on reconnect")
    # Without a reconnect, it goes after the delay.
    c, _ = connect_raw(b, "d2", version=5, properties=expiry,
                       will=("wd/2", "delayed", 0, False), will_props=delay)
    t0 = time.monotonic()
    c.close()
    w.wait_msgs(1, timeout=5)
    dt = time.monotonic() - t0
    check(0.8 <= dt <= 3.0, "will after its 1 s delay, not %.2f s" % dt)
    check([m.topic for m in w.msgs] == ["wd/2"], "only the delayed will")


def test_will_takeover_rules():
    """As Mosquitto: a taken-over session publishes its will only if the
    session ends (either connection has clean start)."""
    b = broker().start()
    w = paho(b, client_id="watch", v5=True)
    w.subscribe("tw")
    seen = 0
    for clean1 in (True, False):
        for clean2 in (True, False):
            exp = raw.props((0x11, struct.pack("!I", 0 if clean1 else 60)))
            c1, _ = connect_raw(b, "tw", version=5, clean=clean1,
                                properties=exp,
                                will=("tw", "%s%s" % (clean1, clean2), 0,
                                      False))
            exp2 = raw.props((0x11, struct.pack("!I",
                                                0 if clean2 else 60)))
            c2, (sp, rc) = connect_raw(b, "tw", version=5, clean=clean2,
                                       properties=exp2)
            p = c1.expect(14)
            check(p[1][0] == 0x8e, "old connection told 0x8E: %r" % p[1])
            check(c1.closed(), "old connection closed")
            if clean1 or clean2:
                seen += 1
                w.wait_msgs(seen)
            c2.send(raw.DISCONNECT)
            c2.closed()
    w.c.publish("tw", b"sync")
    w.wait_msgs(seen + 1)
    got = [m.payload for m in w.msgs]
    check(got == [b"TrueTrue", b"TrueFalse", b"FalseTrue", b"sync"],
          "wills on takeover: %s" % got)
    check(b.stat("takeovers") == 4, "four takeovers")


def test_persistent_session_queue_and_order():
    b = broker().start()
    s = paho(b, client_id="keeper", clean=False)
    s.subscribe("q/#", qos=1)
    s.close()
    b.wait_stat("clients", lambda v: v == 0)
    p = paho(b, client_id="p")
    for i in range(20):
        p.publish("q/%d" % i, b"%d" % i, qos=1)
    b.wait_stat("queued", lambda v: v == 20)
    s = paho(b, client_id="keeper", clean=False)
    check(s.session_present, "session present")
    s.wait_msgs(20)
    check(s.payloads() == [b"%d" % i for i in range(20)],
          "in order: %s" % s.payloads())
    b.wait_stat("queued", lambda v: v == 0)


def test_qos2_resend_with_dup_on_resume():
    b = broker().start()
    c, _ = connect_raw(b, "q2", clean=False)
    c.send(raw.subscribe(1, [("r", 2)]))
    c.expect(9)
    p = paho(b, client_id="p")
    p.publish("r", b"exactly once", qos=2)
    first, body = c.expect(3)
    topic, payload, qos, pid, retain, dup, _ = raw.parse_publish(first, body)
    check(qos == 2 and not dup, "first delivery")
    c.close()  # no PUBREC
    b.wait_stat("clients", lambda v: v == 1)
    c, (sp, rc) = connect_raw(b, "q2", clean=False)
    check(sp == 1, "session present")
    first, body = c.expect(3)
    t2, p2, q2, pid2, _, dup2, _ = raw.parse_publish(first, body)
    check(dup2 and pid2 == pid and p2 == payload,
          "resent with DUP and the same id: dup=%s pid %s/%s" %
          (dup2, pid2, pid))
    c.send(raw.ack("pubrec", pid))
    p3 = c.expect(6)
    check(p3[1][:2] == struct.pack("!H", pid), "PUBREL for our id")
    check(struct.unpack("!H", p3[1][:2])[0] == pid, "PUBREL")
    # Disconnect before PUBCOMP: the PUBREL is sent again on resume.
    c.close()
    b.wait_stat("clients", lambda v: v == 1)
    c, _ = connect_raw(b, "q2", clean=False)
    p4 = c.expect(6)
    check(p4[0] == 0x62, "PUBREL resent after resume")
    c.send(raw.ack("pubcomp", pid))
    c.send(raw.PINGREQ)
    c.expect(13)
    check(b.stat("inflight") == 0, "nothing in flight")


def test_resend_keeps_message_expiry():
    """A resent MQTT 5 message keeps its (remaining) message expiry."""
    b = broker().start()
    exp = raw.props((0x11, struct.pack("!I", 60)))
    c = rawc(b)
    c.send(raw.connect("rx", 5, clean=False, properties=exp))
    c.expect(2)
    c.send(raw.subscribe(1, [("x", 1)], 5))
    c.expect(9)
    p = paho(b, client_id="p", v5=True)
    p.publish("x", b"m", qos=1,
              props=props("PUBLISH", MessageExpiryInterval=100))
    first, body = c.expect(3)
    c.close()  # no PUBACK
    b.wait_stat("clients", lambda v: v == 1)
    c = rawc(b)
    c.send(raw.connect("rx", 5, clean=False, properties=exp))
    c.expect(2)
    first, body = c.expect(3)
    t, payload, qos, pid, _, dup, pr = raw.parse_publish(first, body, 5)
    check(dup and payload == b"m", "resent with DUP")
    check(pr[:1] == b"\x02" and 95 <= struct.unpack("!I", pr[1:5])[0]
          <= 100, "message expiry kept: %r" % pr)


def test_incoming_qos2_duplicate_suppression():
    b = broker().start()
    s = paho(b, client_id="s")
    s.subscribe("d", qos=2)
    c, _ = connect_raw(b, "pub")
    for dup in (False, True, True):
        c.send(raw.publish("d", "once", qos=2, pid=7, dup=dup))
        p = c.expect(5)
        check(struct.unpack("!H", p[1][:2])[0] == 7, "PUBREC 7")
    c.send(raw.ack("pubrel", 7))
    c.expect(7)
    # The same id after PUBCOMP is a new message.
    c.send(raw.publish("d", "twice", qos=2, pid=7))
    c.expect(5)
    c.send(raw.ack("pubrel", 7))
    c.expect(7)
    s.wait_msgs(2)
    p = paho(b, client_id="sync")
    p.publish("d", b"sync", qos=1)
    s.wait_msgs(3)
    check(s.payloads() == [b"once", b"twice", b"sync"],
          "duplicates suppressed: %s" % s.payloads())


def test_session_takeover_v311_and_v5():
    b = broker().start()
    a, _ = connect_raw(b, "same", version=5)
    b2, _ = connect_raw(b, "same", version=5)
    p = a.expect(14)
    check(p[1][0] == 0x8e, "0x8E session taken over")
    check(a.closed(), "old connection closed")
    a, _ = connect_raw(b, "same4", version=4)
    a2, _ = connect_raw(b, "same4", version=4)
    check(a.closed(), "MQTT 3.1.1: old connection closed")
    a2.send(raw.PINGREQ)
    a2.expect(13)


def test_keepalive_enforced():
    b = broker().start()
    w = paho(b, client_id="w")
    w.subscribe("ka")
    c, _ = connect_raw(b, "sleepy", keepalive=1,
                       will=("ka", "timed out", 0, False))
    t0 = time.monotonic()
    check(c.closed(timeout=5), "closed after 1.5 x keep alive")
    dt = time.monotonic() - t0
    check(1.3 <= dt <= 3.0, "closed after %.2f s, want about 1.5" % dt)
    w.wait_msgs(1)
    check(b.stat("timeouts.keepalive") == 1, "counted")
    # MQTT 5 is told why.
    c, _ = connect_raw(b, "sleepy5", version=5, keepalive=1)
    p = c.expect(14, timeout=5)
    check(p[1][0] == 0x8d, "DISCONNECT 0x8D")


def test_max_keepalive():
    b = broker(extra="max keepalive 30").start()
    c, (sp, rc) = connect_raw(b, "k3", version=4, keepalive=60)
    check(rc == 2, "MQTT 3.1.1 keep alive over the maximum: CONNACK 2, "
          "not %d" % rc)
    c = rawc(b)
    c.send(raw.connect("k5", 5, keepalive=60))
    first, body = c.expect(2)
    check(body[1] == 0 and b"\x13\x00\x1e" in body,
          "MQTT 5: Server Keep Alive 30: %r" % body)


def test_connect_timeout():
    b = broker(extra="connect timeout 1").start()
    c = rawc(b)
    t0 = time.monotonic()
    check(c.closed(timeout=5), "closed without CONNECT")
    dt = time.monotonic() - t0
    check(0.8 <= dt <= 3.0, "closed after %.2f s" % dt)
    check(b.stat("timeouts.connect") == 1, "counted")


def test_topic_alias_from_client():
    b = broker(extra="max topic aliases 2").start()
    s = paho(b, client_id="s")
    s.subscribe("long/topic/name")
    c, _ = connect_raw(b, "alias", version=5)
    c.send(raw.publish("long/topic/name", "first", version=5,
                       properties=raw.props((0x23, b"\x00\x01"))))
    c.send(raw.publish("", "second", version=5,
                       properties=raw.props((0x23, b"\x00\x01"))))
    s.wait_msgs(2)
    check([m.topic for m in s.msgs] == ["long/topic/name"] * 2,
          "alias resolved")
    c.send(raw.publish("", "x", version=5,
                       properties=raw.props((0x23, b"\x00\x02"))))
    p = c.expect(14)
    check(p[1][0] == 0x82, "unknown alias: protocol error")
    c, _ = connect_raw(b, "alias2", version=5)
    c.send(raw.publish("t", "x", version=5,
                       properties=raw.props((0x23, b"\x00\x03"))))
    p = c.expect(14)
    check(p[1][0] == 0x94, "alias above the maximum: 0x94")


def test_message_expiry():
    b = broker().start()
    s = paho(b, client_id="later", clean=False)
    s.subscribe("e", qos=1)
    s.close()
    b.wait_stat("clients", lambda v: v == 0)
    p = paho(b, client_id="p", v5=True)
    p.publish("e", b"short", qos=1,
              props=props("PUBLISH", MessageExpiryInterval=1))
    p.publish("e", b"long", qos=1,
              props=props("PUBLISH", MessageExpiryInterval=100))
    p.publish("er", b"retained short", qos=1, retain=True,
              props=props("PUBLISH", MessageExpiryInterval=1))
    time.sleep(1.5)  # the expiry itself is what is tested
    s = paho(b, client_id="later", clean=False, v5=True)
    s.wait_msgs(1)
    m = s.msgs[0]
    check(m.payload == b"long", "expired one dropped: %s" % s.payloads())
    left = m.properties.MessageExpiryInterval
    check(97 <= left <= 99, "expiry counted down: %s" % left)
    r = paho(b, client_id="r", v5=True)
    r.subscribe("er")
    p.publish("sync", b"", qos=1)
    check(r.msgs == [], "expired retained message not sent")
    check(b.stat("retained") == 0, "expired retained message removed")


def test_properties_forwarded_untouched():
    b = broker().start()
    s = paho(b, client_id="s", v5=True)
    s.subscribe("props")
    old = paho(b, client_id="old")
    old.subscribe("props")
    p = paho(b, client_id="p", v5=True)
    pr = props("PUBLISH", PayloadFormatIndicator=1, ContentType="text/x",
               ResponseTopic="reply/here", CorrelationData=b"\x01\x02",
               UserProperty=[("a", "1"), ("b", "2"), ("a", "3")])
    p.publish("props", "payload", qos=1, props=pr)
    s.wait_msgs(1)
    q = s.msgs[0].properties
    check(q.PayloadFormatIndicator == 1 and q.ContentType == "text/x" and
          q.ResponseTopic == "reply/here" and
          q.CorrelationData == b"\x01\x02", "fields forwarded: %s" % q)
    check(q.UserProperty == [("a", "1"), ("b", "2"), ("a", "3")],
          "user properties in order: %s" % q.UserProperty)
    old.wait_msgs(1)
    check(old.msgs[0].payload == b"payload", "3.1.1 subscriber served")


def test_receive_maximum_outgoing():
    b = broker().start()
    c = rawc(b)
    c.send(raw.connect("rm", 5, properties=raw.props((0x21, b"\x00\x02"))))
    c.expect(2)
    c.send(raw.subscribe(1, [("rm", 1)], 5))
    c.expect(9)
    p = paho(b, client_id="p")
    for i in range(5):
        p.publish("rm", b"%d" % i, qos=1)
    pids = []
    for i in range(2):
        first, body = c.expect(3)
        pids.append(raw.parse_publish(first, body, 5)[3])
    check(c.read(timeout=0.5) is None, "no third message past the window")
    c.send(raw.ack("puback", pids[0], 5))
    first, body = c.expect(3)
    check(raw.parse_publish(first, body, 5)[1] == b"2", "third after ack")


def test_client_maximum_packet_size():
    b = broker().start()
    c = rawc(b)
    c.send(raw.connect("mps", 5, properties=raw.props(
        (0x27, struct.pack("!I", 64)))))
    c.expect(2)
    c.send(raw.subscribe(1, [("m", 0)], 5))
    c.expect(9)
    p = paho(b, client_id="p")
    p.publish("m", b"x" * 200, qos=1)
    p.publish("m", b"small", qos=1)
    first, body = c.expect(3)
    check(raw.parse_publish(first, body, 5)[1] == b"small",
          "the large one is not sent")
    check(b.stat("dropped.too_large") == 1, "counted")


def test_connack_properties_and_assigned_id():
    b = broker(extra="max inflight 20\nmax packet size 100000\n"
               "max topic aliases 5").start()
    c = paho(b, client_id="", v5=True)
    pr = c.connack_props
    check(pr.ReceiveMaximum == 20, "receive maximum %s" % pr)
    check(pr.MaximumPacketSize == 100000, "maximum packet size")
    check(pr.TopicAliasMaximum == 5, "topic alias maximum")
    check(pr.AssignedClientIdentifier.startswith("auto-"),
          "assigned client identifier: %s" % pr)


def test_client_id_rules():
    b = broker().start()
    c, (sp, rc) = connect_raw(b, "", version=4, clean=False)
    check(rc == 2, "3.1.1 empty id without clean session: 2, not %d" % rc)
    c, (sp, rc) = connect_raw(b, "", version=3)
    check(rc == 2, "3.1 empty id: 2, not %d" % rc)
    c, (sp, rc) = connect_raw(b, "", version=4)
    check(rc == 0, "3.1.1 empty id with clean session is fine")
    c, (sp, rc) = connect_raw(b, "old-style-3.1", version=3)
    check(rc == 0, "MQTT 3.1 accepted")
    b2 = broker(extra="empty client id no").start()
    c, (sp, rc) = connect_raw(b2, "", version=5)
    check(rc == 0x85, "empty id refused: 0x85, not %#x" % rc)


def test_not_authorized_without_anonymous():
    b = broker(anonymous=False).start()
    c, (sp, rc) = connect_raw(b, "a", version=4)
    check(rc == 5, "3.1.1: not authorized (5), not %d" % rc)
    c, (sp, rc) = connect_raw(b, "a", version=5)
    check(rc == 0x87, "5: 0x87, not %#x" % rc)
    check(b.stat("auth.denied") == 2, "counted")


def test_subscription_limit():
    b = broker(extra="max subscriptions 2").start()
    c, _ = connect_raw(b, "s", version=5)
    c.send(raw.subscribe(1, [("a", 0), ("b", 1), ("c", 2), ("a", 1)], 5))
    p = c.expect(9)
    check(p[1][3:] == bytes([0, 1, 0x97, 1]), "SUBACK %r" % p[1])
    c, _ = connect_raw(b, "s3", version=4)
    c.send(raw.subscribe(1, [("a", 0), ("b", 1), ("c", 2)]))
    p = c.expect(9)
    check(p[1][2:] == bytes([0, 1, 0x80]), "3.1.1 SUBACK %r" % p[1])


def test_unsubscribe_reason_codes():
    b = broker().start()
    c, _ = connect_raw(b, "u", version=5)
    c.send(raw.subscribe(1, [("a", 0)], 5))
    c.expect(9)
    body = struct.pack("!H", 2) + b"\x00" + raw.s("a") + raw.s("b") + \
        raw.s("") + raw.s("a/#/b")
    c.send(raw.packet(0xa2, body))
    p = c.expect(11)
    check(p[1][3:] == bytes([0, 0x11, 0x8f, 0x8f]), "UNSUBACK %r" % p[1])
    c4, _ = connect_raw(b, "u4")
    c4.send(raw.packet(0xa2, struct.pack("!H", 3) + raw.s("a/#/b")))
    check(c4.closed(), "3.1.1: a bad filter closes")


def test_queue_full_tells_v5_publisher():
    b = broker(extra="max queued messages 2").start()
    s = paho(b, client_id="slow", clean=False)
    s.subscribe("full", qos=1)
    s.close()
    b.wait_stat("clients", lambda v: v == 0)
    c, _ = connect_raw(b, "p5", version=5)
    codes = []
    for i in range(4):
        c.send(raw.publish("full", "m%d" % i, qos=1, pid=i + 1, version=5))
        p = c.expect(4)
        codes.append(p[1][2] if len(p[1]) > 2 else 0)
    check(codes == [0, 0, 0x97, 0x97], "PUBACK reasons %s" % codes)
    # A 3.1.1 publisher cannot be told; the drop is counted.
    c4, _ = connect_raw(b, "p4")
    c4.send(raw.publish("full", "x", qos=1, pid=9))
    c4.expect(4)
    check(b.stat("dropped.queue_full") == 3, "drops counted: %s" %
          b.stats())
    s = paho(b, client_id="slow", clean=False)
    s.wait_msgs(2)
    p = paho(b, client_id="sync")
    p.publish("full", b"after", qos=1)
    s.wait_msgs(3)
    check(s.payloads() == [b"m0", b"m1", b"after"],
          "what was acknowledged is delivered: %s" % s.payloads())


def test_payload_format_invalid():
    b = broker().start()
    c, _ = connect_raw(b, "pf", version=5)
    c.send(raw.publish("t", b"\xff\xfe", qos=1, pid=3, version=5,
                       properties=raw.props((0x01, b"\x01"))))
    p = c.expect(4)
    check(p[1][2] == 0x99, "PUBACK 0x99: %r" % p[1])


def test_max_qos_and_retain_settings():
    b = broker(extra="max qos 1\nretain no").start()
    c = paho(b, client_id="q", v5=True)
    check(c.connack_props.MaximumQoS == 1, "CONNACK maximum QoS")
    check(c.connack_props.RetainAvailable == 0, "CONNACK retain available")
    check(c.subscribe("x", qos=2)[0].value == 1, "granted QoS 1")
    r, _ = connect_raw(b, "r", version=5)
    r.send(raw.publish("x", "r", qos=0, retain=True, version=5))
    p = r.expect(14)
    check(p[1][0] == 0x9a, "retain not supported: %r" % p[1])
    r, _ = connect_raw(b, "q2", version=5)
    r.send(raw.publish("x", "r", qos=2, version=5))
    p = r.expect(14)
    check(p[1][0] == 0x9b, "QoS not supported: %r" % p[1])


def test_reload_changes_limits():
    b = broker().start()
    c, (sp, rc) = connect_raw(b, "k", keepalive=100)
    check(rc == 0, "accepted before")
    b.write_conf(b.conf_text(extra="max keepalive 50"))
    b.ctl("reload")
    c, (sp, rc) = connect_raw(b, "k2", keepalive=100)
    check(rc == 2, "the new limit applies: %d" % rc)


def test_back_pressure_holds_publishers_nothing_lost():
    """A connected subscriber's full queue holds the publisher, unacked,
    instead of acknowledging and dropping: every message arrives, in
    order, MQTT 3.1.1 and 5 alike."""
    b = broker(extra="max inflight 2\nmax queued messages 3").start()
    sub = rawc(b)
    sub.send(raw.connect("slow", 4))
    sub.expect(2)
    sub.send(raw.subscribe(1, [("bp", 1)]))
    sub.expect(9)
    pubs = [paho(b, client_id="bp4"), paho(b, client_id="bp5", v5=True)]
    # Each keeps within what the broker allows in flight (paho does not
    # read Receive Maximum itself): the MQTT 5 client its CONNACK's
    # Receive Maximum, the MQTT 3.1.1 client fewer than the broker's
    # bound for it, so a disconnect here is the broker's fault.
    rmax = pubs[1].connack_props.ReceiveMaximum
    check(rmax == 2, "Receive Maximum %d" % rmax)
    pubs[1].c.max_inflight_messages_set(rmax)
    pubs[0].c.max_inflight_messages_set(4)
    infos = []
    for i in range(20):
        p = pubs[i % 2]
        infos.append(p.publish("bp", b"%02d" % i, qos=1, wait=False))
    # The window and the queue fill; the rest waits, unacknowledged.
    b.wait_stat("held", lambda v: v > 0)
    check(b.stat("queued") == 3, "queue full")
    got = []
    while len(got) < 20:
        first, body = sub.expect(3)
        t, payload, qos, pid, _, _, _ = raw.parse_publish(first, body)
        got.append(payload)
        sub.send(raw.ack("puback", pid))
    wait_for(lambda: all(i.mid in pubs[k % 2].pubacks
                         for k, i in enumerate(infos)), 10, "all PUBACKs")
    check(sorted(got) == [b"%02d" % i for i in range(20)],
          "each once: %s" % got)
    for k in (0, 1):
        mine = [g for g in got if int(g) % 2 == k]
        check(mine == sorted(mine), "in order per publisher: %s" % mine)
    st = b.stats()
    check(st["dropped.queue_full"] == 0 and st["held"] == 0,
          "nothing dropped or left held: %s" % st)
    check(st["held.total"] > 0, "publishers were held")
    check(pubs[0].disconnected is None and pubs[1].disconnected is None,
          "publishers stayed connected")
    check(st["connections.total"] == 3,
          "no reconnects: %d" % st["connections.total"])


def test_large_payloads_shared_and_partial_writes():
    """Large payloads are written from one shared copy: every subscriber
    gets every byte, in order, even one that reads slowly and so is
    written in pieces."""
    import socket as so
    b = broker(extra="max packet size 4M").start()
    slow = rawc(b)
    slow.sock.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 8192)
    slow.send(raw.connect("slow", 4))
    slow.expect(2)
    slow.send(raw.subscribe(1, [("big/#", 1)]))
    slow.expect(9)
    fast = paho(b, client_id="fast")
    fast.subscribe("big/#", qos=1)
    p = paho(b, client_id="p")
    payloads = [bytes([i]) * 3000 + os_random(40000 + i * 1000)
                for i in range(6)]
    for i, pl in enumerate(payloads):
        p.publish("big/%d" % i, pl, qos=i % 2)
    fast.wait_msgs(6)
    check(fast.payloads() == payloads, "fast subscriber: all bytes")
    got = []
    while len(got) < 6:
        first, body = slow.expect(3, timeout=20)
        t, pl, qos, pid, _, _, _ = raw.parse_publish(first, body)
        got.append(pl)
        if qos:
            slow.send(raw.ack("puback", pid))
    check(got == payloads, "slow subscriber: all bytes, in order")


def os_random(n):
    import os
    return os.urandom(n)


def test_packets_sent_before_connack():
    """What a client sends right behind its CONNECT, before authd has
    answered, is kept and handled in order once it has; a client that
    hangs up while authd decides is forgotten."""
    b = broker().start()
    for v, split in ((4, False), (4, True), (5, False), (5, True)):
        c = rawc(b)
        rest = (raw.subscribe(1, [("e/%d" % v, 1)], version=v) +
                raw.publish("e/%d" % v, b"x" * 70000, qos=1, pid=2,
                            version=v) +
                raw.PINGREQ)
        if split:       # the rest most likely while authd decides
            c.send(raw.connect("early%d" % v, v))
            c.send(rest)
        else:           # the rest in the CONNECT's read
            c.send(raw.connect("early%d" % v, v) + rest)
        check(raw.connack_reason(c.expect(2))[1] == 0, "CONNACK")
        c.expect(9)                                 # SUBACK
        seen = set()
        for _ in range(3):                          # PUBACK, PUBLISH, PINGRESP
            p = c.read(10)
            check(p is not None, "all three answers")
            seen.add(p[0] >> 4)
            if p[0] >> 4 == 3:
                check(p[1].endswith(b"x" * 70000), "the payload whole")
        check(seen == {4, 3, 13}, "PUBACK, PUBLISH, PINGRESP: %r" % seen)
        c.close()
    for i in range(20):
        c = rawc(b)
        c.send(raw.connect("gone%d" % i, 4))
        c.close()
    c, (_, rc) = connect_raw(b, "after")
    check(rc == 0, "the broker still serves")
    check(wait_for(lambda: b.stat("connections") == 1),
          "only one connection left: %d" % b.stat("connections"))



def engine_socket(b, peer):
    """A duplicate of the engine's socket whose peer is `peer', taken
    with pidfd_getfd(2)."""
    import ctypes
    import socket
    libc = ctypes.CDLL(None, use_errno=True)
    pid = b.children()["engine"]
    pidfd = os.pidfd_open(pid)
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith(
                    "socket:"):
                continue
            fd = libc.syscall(438, pidfd, int(name), 0)   # pidfd_getfd
            check(fd >= 0, "pidfd_getfd: errno %d" % ctypes.get_errno())
            s = socket.socket(fileno=fd)
            try:
                if s.type == socket.SOCK_STREAM and \
                        s.family == socket.AF_INET and \
                        s.getpeername() == peer:
                    return s
            except OSError:
                pass
            s.close()
    finally:
        os.close(pidfd)
    raise TestFailure("no engine socket connected to %r" % (peer,))


def test_no_nagle():
    """Small packets go out at once: every accepted connection has
    TCP_NODELAY, which it inherits from the listening socket."""
    import socket
    b = broker().start()
    for i in range(3):
        c, _ = connect_raw(b, "nagle%d" % i)
        s = engine_socket(b, c.sock.getsockname())
        check(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
              "TCP_NODELAY on connection %d" % i)
        s.close()
