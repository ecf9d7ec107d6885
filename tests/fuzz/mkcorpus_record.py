#!/usr/bin/python3
# Seed inputs for fuzz_record (see the comment at the top of
# fuzz_record.c): one valid key and value of every record type, as
# storaged/record.c writes them.
import os
import struct

OUT = os.path.join(os.path.dirname(__file__), "corpus", "fuzz_record")
MSG, RETAIN, SESSION, SUB, QUEUE, INREL, META = range(1, 8)


def cid(c):
    return struct.pack(">H", len(c)) + c


def seed(name, rtype, key, value):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([rtype]) + struct.pack(">H", len(key)) + key + value)


def msg(flags, topic, props, payload, expires=0):
    return (bytes([MSG, 1, flags]) + struct.pack(">QH", expires, len(topic)) +
            topic + struct.pack(">I", len(props)) + props +
            struct.pack(">I", len(payload)) + payload)


os.makedirs(OUT, exist_ok=True)
seed("msg", MSG, struct.pack(">Q", 1), msg(1, b"a/b", b"", b"hello"))
seed("msg_retain_props", MSG, struct.pack(">Q", 1 << 40),
     msg(6, b"sensors/1/t", b"\x01\x01\x02\x00\x00\x00\x3c", b"21.5",
         1700000000000))
seed("retain", RETAIN, b"sensors/1/t",
     bytes([RETAIN, 1]) + struct.pack(">Q", 7))
seed("session", SESSION, b"client-1",
     bytes([SESSION, 1, 5, 0]) + struct.pack(">IQ", 3600, 0))
seed("session_will", SESSION, b"c",
     bytes([SESSION, 1, 4, 0x0d]) +
     struct.pack(">IQII", 0xffffffff, 1700000000000, 30, 0) +
     struct.pack(">H", 1) + b"w" + struct.pack(">I", 0) +
     struct.pack(">I", 3) + b"bye")
seed("sub", SUB, cid(b"client-1") + b"a/+/#",
     bytes([SUB, 1, 0x2e]) + struct.pack(">I", 256))
seed("queue", QUEUE, cid(b"client-1") + struct.pack(">Q", 9),
     bytes([QUEUE, 1, 0x05]) + struct.pack(">HQB", 0, 42, 0))
seed("queue_inflight", QUEUE, cid(b"c") + struct.pack(">Q", 1 << 33),
     bytes([QUEUE, 1, 0x12]) + struct.pack(">HQB", 0x1234, 42, 2) +
     struct.pack(">II", 1, 268435455))
seed("inrel", INREL, cid(b"client-1") + struct.pack(">H", 7),
     bytes([INREL, 1]))
seed("meta", META, b"format", bytes([META, 1]) + struct.pack(">IQ", 1, 7))
