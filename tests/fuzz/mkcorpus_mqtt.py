#!/usr/bin/python3
# Seed inputs for fuzz_mqtt (see the comment at the top of fuzz_mqtt.c):
# real packet sequences, chunked for two connections.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))
import mqttraw as raw  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "corpus", "fuzz_mqtt")


def chunks(conn, data):
    out = b""
    for i in range(0, len(data), 127):
        part = data[i:i + 127]
        out += bytes([(conn << 7) | len(part)]) + part
    return out


def seed(name, b0, b1, *steps):
    body = bytes([b0, b1])
    for conn, data in steps:
        body += chunks(conn, data)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(body)


os.makedirs(OUT, exist_ok=True)
for v, vb in ((4, 1), (5, 2), (3, 0)):
    seed("connect_v%d" % v, vb, 1, (0, raw.connect("a", v)),
         (1, raw.connect("b", v)))
    seed("pubsub_v%d" % v, vb | 4, 1,
         (0, raw.subscribe(1, [("t/#", 2), ("+/x", 1)], v)),
         (1, raw.publish("t/x", "hello", 0, version=v)),
         (1, raw.publish("t/x", "one", 1, 5, version=v)),
         (1, raw.publish("t/x", "two", 2, 6, version=v)),
         (1, raw.ack("pubrel", 6, v)),
         (0, raw.ack("puback", 1, v)),
         (0, raw.ack("pubrec", 2, v)),
         (0, raw.ack("pubcomp", 2, v)),
         (0, raw.PINGREQ), (1, raw.DISCONNECT))
    seed("retain_v%d" % v, vb | 4, 1,
         (1, raw.publish("r/1", "keep", 1, 1, retain=True, version=v)),
         (0, raw.subscribe(2, [("r/+", 1)], v)),
         (1, raw.publish("r/1", "", 0, retain=True, version=v)))
    seed("persist_v%d" % v, vb | 4 | 8, 1,
         (0, raw.subscribe(3, [("p", 2)], v)),
         (1, raw.publish("p", "q", 2, 9, version=v)))
seed("alias_v5", 2 | 4, 1,
     (0, raw.subscribe(1, [("a/b", 0)], 5)),
     (1, raw.publish("a/b", "x", version=5,
                     properties=raw.props((0x23, b"\x00\x01")))),
     (1, raw.publish("", "y", version=5,
                     properties=raw.props((0x23, b"\x00\x01")))))
seed("shared_v5", 2 | 4, 1,
     (0, raw.subscribe(1, [("$share/g/s", 1)], 5)),
     (1, raw.subscribe(1, [("$share/g/s", 1)], 5)),
     (1, raw.publish("s", "1", 1, 1, version=5)),
     (1, raw.publish("s", "2", 1, 2, version=5)))
seed("will_v5", 2, 1,
     (0, raw.connect("w", 5, will=("w/t", "bye", 1, True))),
     (1, raw.connect("w", 5)))
seed("denied_v4", 1, 0, (0, raw.connect("d", 4)))
