# Secrets stay where they belong.  After authd has answered, no byte
# sequence of a client's password is left anywhere in the engine's
# memory: not in the CONNECT held for authd, not in the read buffers, not
# in the IPC buffers of the channel to authd, not in freed heap.

import os
import secrets
import time

import mqttraw as raw
from harness import CLEANUP, IS_ROOT, broker, check, memory_holds, wait_for


def rawc(b):
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    return c


def test_no_password_in_engine_memory():
    if not IS_ROOT:
        raise Exception("needs root to read the engine's memory")
    b = broker().start()
    engine = b.children()["engine"]
    pwds = []
    # Accepted clients that stay connected, refused ones, and a CONNECT
    # that arrives in pieces (so it is buffered and the buffer grows).
    for i in range(4):
        pw = "pw-" + secrets.token_hex(16)
        pwds.append(pw.encode())
        c = rawc(b)
        pkt = raw.connect("secret%d" % i, 5 if i % 2 else 4,
                          username="u%d" % i, password=pw)
        if i == 3:
            # Pacing, not waiting for a condition: the pieces should
            # arrive in separate reads, but the test does not rely on it.
            for k in range(0, len(pkt), 7):
                c.send(pkt[k:k + 7])
                time.sleep(0.01)
        else:
            c.send(pkt)
        first, body = c.expect(2)
        check(body[1] == 0, "CONNACK %r" % body)
    # A client refused by a listener that takes no anonymous clients.
    b2 = broker(anonymous=False).start()
    e2 = b2.children()["engine"]
    refused = "pw-" + secrets.token_hex(16)
    c = rawc(b2)
    c.send(raw.connect("refused", 4, username="x", password=refused))
    first, body = c.expect(2)
    check(body[1] != 0, "refused: %r" % body)
    wait_for(lambda: b2.stat("auth.denied") == 1, 10, "the refusal")
    wait_for(lambda: b.stat("clients") == 4, 10, "4 clients")
    for pw in pwds:
        where = memory_holds(engine, pw)
        check(not where, "password %r in the engine's %s" % (pw, where))
        # The test itself is no false negative: the bytes are findable.
        check(memory_holds(os.getpid(), pw), "scan finds a known copy")
    where = memory_holds(e2, refused.encode())
    check(not where, "refused password in the engine's %s" % where)
