# SCRAM-SHA-256 and SCRAM-SHA-512 over MQTT 5 enhanced authentication
# (CONNECT and AUTH packets, re-authentication with AUTH 0x19), with a
# small SCRAM client written here and checked against RFC 7677's test
# vector first; wrong proofs, replayed messages, unknown users and
# methods, exchanges abandoned half-way.

import base64
import hashlib
import hmac
import os
import secrets
import struct
import subprocess
import time

import mqttraw as raw
from harness import CLEANUP, binary, broker, check, wait_for

HASHES = {"SCRAM-SHA-256": hashlib.sha256, "SCRAM-SHA-512": hashlib.sha512}


class Scram:
    """The client side of RFC 5802, without channel binding."""

    def __init__(self, method, user, password, cnonce=None):
        self.h = HASHES[method]
        self.user, self.password = user, password
        self.cnonce = cnonce or base64.b64encode(
            secrets.token_bytes(18)).decode()
        self.bare = "n=%s,r=%s" % (user, self.cnonce)

    def first(self):
        return ("n,," + self.bare).encode()

    def final(self, server_first):
        sf = server_first.decode()
        attrs = dict(a.split("=", 1) for a in sf.split(","))
        check(attrs["r"].startswith(self.cnonce), "the server's nonce "
              "extends ours: %s" % sf)
        salt, it = base64.b64decode(attrs["s"]), int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(self.h().name, self.password.encode(),
                                     salt, it)
        ckey = hmac.new(salted, b"Client Key", self.h).digest()
        stored = self.h(ckey).digest()
        without = "c=biws,r=" + attrs["r"]
        self.auth_msg = ",".join((self.bare, sf, without)).encode()
        sig = hmac.new(stored, self.auth_msg, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(ckey, sig))
        skey = hmac.new(salted, b"Server Key", self.h).digest()
        self.server_sig = hmac.new(skey, self.auth_msg, self.h).digest()
        return (without + ",p=" + base64.b64encode(proof).decode()).encode()

    def verify(self, server_final):
        return server_final.decode() == \
            "v=" + base64.b64encode(self.server_sig).decode()


def test_scram_client_rfc7677_vector():
    """RFC 7677, section 3: user, pencil, SCRAM-SHA-256."""
    c = Scram("SCRAM-SHA-256", "user", "pencil",
              cnonce="rOprNGfwEbeRWgbNEkqO")
    check(c.first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO", "first")
    fin = c.final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                  b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    check(fin == b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF"
          b"$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "final")
    check(c.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
          "server signature")


# MQTT 5 properties of the packets the tests need.
def auth_props(method, data=None):
    items = [(0x15, raw.s(method))]
    if data is not None:
        items.append((0x16, raw.s(data)))
    return raw.props(*items)


def auth_packet(reason, method, data=None):
    return raw.packet(0xf0, bytes([reason]) + auth_props(method, data))


def read_props(b):
    """{id: value} of a property block (only what the server sends)."""
    n, mult, i = 0, 1, 0
    while True:
        n += (b[i] & 0x7f) * mult
        mult *= 128
        i += 1
        if not b[i - 1] & 0x80:
            break
    end, out = i + n, {}
    while i < end:
        pid = b[i]
        i += 1
        if pid in (0x15, 0x16, 0x12, 0x1f):            # strings, binary
            ln = struct.unpack("!H", b[i:i + 2])[0]
            out[pid] = b[i + 2:i + 2 + ln]
            i += 2 + ln
        elif pid in (0x11, 0x27):                      # four bytes
            out[pid] = b[i:i + 4]
            i += 4
        elif pid in (0x21, 0x22, 0x13):                # two bytes
            out[pid] = b[i:i + 2]
            i += 2
        else:                                          # one byte
            out[pid] = b[i:i + 1]
            i += 1
    return out


def expect_auth(c, reason=0x18):
    p = c.read(10)
    check(p is not None and p[0] >> 4 == 15, "an AUTH: %r" % (p,))
    check(p[1][0] == reason, "AUTH reason %#x" % p[1][0])
    return read_props(p[1][1:])


def connack(c):
    p = c.read(10)
    check(p is not None and p[0] >> 4 == 2, "a CONNACK: %r" % (p,))
    return p[1][1], read_props(p[1][2:])


def scram_broker(extra=""):
    b = broker(anonymous=False)
    f = os.path.join(b.dir, "scram")
    for i, (u, pw) in enumerate((("alice", "pencil"), ("bob", "b0b"))):
        r = subprocess.run([binary("brokerctl"), "passwd"] +
                           (["-c"] if i == 0 else []) +
                           ["-b", "-m", "scram", f, u, pw],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "brokerctl passwd: %s" % r.stderr)
    b.listen = ['listen on 127.0.0.1 port %d scram file "%s"' % (b.port, f)]
    b.extra = extra
    b.write_conf()
    return b.start()


def scram_challenged(b, cid):
    """A client of alice's that has sent its first message and got the
    challenge."""
    sc = Scram("SCRAM-SHA-256", "alice", "pencil")
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect(cid, 5, username="alice",
                       properties=auth_props("SCRAM-SHA-256", sc.first())))
    expect_auth(c)
    return c


def scram_connect(b, method, user, password, cid="s", tamper=None):
    """CONNECT with method's client-first, AUTH with the proof; returns
    (client, CONNACK reason, its properties, the Scram)."""
    sc = Scram(method, user, password)
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect(cid, 5, username=user,
                       properties=auth_props(method, sc.first())))
    pr = expect_auth(c)
    check(pr[0x15] == method.encode(), "the method comes back")
    fin = sc.final(pr[0x16])
    if tamper:
        fin = tamper(fin)
    c.send(auth_packet(0x18, method, fin))
    rc, props = connack(c)
    return c, rc, props, sc


def test_scram_connect():
    b = scram_broker()
    for method in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        c, rc, props, sc = scram_connect(b, method, "alice", "pencil",
                                         cid="a" + method[-3:])
        check(rc == 0, "%s: CONNACK %#x" % (method, rc))
        check(props.get(0x15) == method.encode(), "CONNACK's method")
        check(sc.verify(props[0x16]), "the server proves it knows the key")
        # The session works.
        c.send(raw.subscribe(1, [("t", 0)], version=5))
        p = c.read(10)
        check(p is not None and p[0] >> 4 == 9, "SUBACK")
    wait_for(lambda: b.stat("authd.scram_verified") == 2, 5, "2 proofs")


def test_scram_refusals():
    b = scram_broker()
    # A wrong password, a user without credentials (made-up ones), a
    # user name other than the CONNECT's: 0x86.
    for user, pw in (("alice", "pencim"), ("nobody", "x")):
        _, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", user, pw)
        check(rc == 0x86, "%s: %#x" % (user, rc))
    sc = Scram("SCRAM-SHA-256", "bob", "b0b")
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("x", 5, username="alice",
                       properties=auth_props("SCRAM-SHA-256", sc.first())))
    rc, _ = connack(c)
    check(rc == 0x86, "another user name than the CONNECT's: %#x" % rc)
    # A method nobody offers, and SCRAM where the listener has no file.
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("y", 5, username="alice",
                       properties=auth_props("KERBEROS", b"x")))
    rc, _ = connack(c)
    check(rc == 0x8c, "unknown method: %#x" % rc)
    # A tampered proof.
    _, rc, _, _ = scram_connect(
        b, "SCRAM-SHA-512", "bob", "b0b",
        tamper=lambda f: f[:-4] + (b"AAA=" if f[-4:] != b"AAA=" else
                                   b"BBB="))
    check(rc == 0x86, "a tampered proof: %#x" % rc)
    # A packet other than AUTH while the exchange is under way.
    c = scram_challenged(b, "z")
    c.send(raw.subscribe(1, [("t", 0)], version=5))
    check(c.read(5) is None, "closed")


def test_scram_replayed_proof():
    """A proof recorded from a good exchange does not open another: the
    server's nonce is new each time."""
    b = scram_broker()
    recorded = []

    def record(fin):
        recorded.append(fin)
        return fin
    c, rc, _, sc = scram_connect(b, "SCRAM-SHA-256", "alice", "pencil",
                                 cid="r1", tamper=record)
    check(rc == 0, "the recorded exchange: %#x" % rc)
    c.close()
    # Same client nonce, replayed client-final.
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("r2", 5, username="alice",
                       properties=auth_props("SCRAM-SHA-256", sc.first())))
    pr = expect_auth(c)
    check(not recorded[0].decode().split(",")[1].endswith(
        pr[0x16].decode().split(",")[0][2:]), "a fresh server nonce")
    c.send(auth_packet(0x18, "SCRAM-SHA-256", recorded[0]))
    rc, _ = connack(c)
    check(rc == 0x86, "a replayed proof: %#x" % rc)


def test_scram_reauthenticate():
    b = scram_broker()
    c, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", "alice", "pencil",
                                cid="re")
    check(rc == 0, "connected")
    for ok in (True, True, False):
        sc = Scram("SCRAM-SHA-256", "alice", "pencil" if ok else "nope")
        c.send(auth_packet(0x19, "SCRAM-SHA-256", sc.first()))
        pr = expect_auth(c, 0x18)
        c.send(auth_packet(0x18, "SCRAM-SHA-256", sc.final(pr[0x16])))
        if ok:
            pr = expect_auth(c, 0x00)
            check(sc.verify(pr[0x16]), "re-authenticated")
            c.send(raw.packet(0xc0, b""))          # still connected
            p = c.read(5)
            check(p is not None and p[0] >> 4 == 13, "PINGRESP")
        else:
            p = c.read(10)
            check(p is not None and p[0] >> 4 == 14 and p[1][0] == 0x86,
                  "DISCONNECT 0x86: %r" % (p,))
    # AUTH 0x19 with another method is a protocol error.
    c, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", "bob", "b0b", cid="m")
    c.send(auth_packet(0x19, "SCRAM-SHA-512", b"n,,n=bob,r=x"))
    p = c.read(10)
    check(p is not None and p[0] >> 4 == 14 and p[1][0] == 0x8c,
          "another method: %r" % (p,))


def test_scram_abandoned():
    """An exchange abandoned half-way costs nothing for long: at CONNECT
    the engine's connect timeout closes it, connected authd's exchange
    timeout does; either way authd forgets it."""
    b = scram_broker("connect timeout 1\nauth exchange timeout 1\n")
    c = scram_challenged(b, "ab")
    wait_for(lambda: b.stat("authd.scram_exchanges") == 1, 5, "1 under way")
    t = time.monotonic()
    check(c.read(5) is None, "closed by the connect timeout")
    check(time.monotonic() - t < 3, "in about 1 s")
    wait_for(lambda: b.stat("authd.scram_exchanges") == 0, 5, "forgotten")
    # Connected, an AUTH 0x19 left without its proof.  (The exchange
    # above may have expired at authd before the engine's close reached
    # it: count from here.)
    expired = b.stat("authd.scram_expired")
    c, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", "alice", "pencil",
                                cid="ab2")
    check(rc == 0, "connected")
    sc = Scram("SCRAM-SHA-256", "alice", "pencil")
    c.send(auth_packet(0x19, "SCRAM-SHA-256", sc.first()))
    expect_auth(c)
    p = c.read(10)
    check(p is not None and p[0] >> 4 == 14 and p[1][0] == 0x87,
          "DISCONNECT 0x87 after the exchange timeout: %r" % (p,))
    wait_for(lambda: b.stat("authd.scram_expired") == expired + 1, 5,
             "expired")
    check(b.stat("authd.scram_exchanges") == 0, "none left")


def test_scram_challenged_connects_bounded_in_total():
    """A client that has its challenge and never answers holds its
    CONNECT in the engine: it counts towards `max connect total' like a
    CONNECT not yet read whole, and past it the oldest go (counted)."""
    b = scram_broker("max connect total 64K\n")
    sc = Scram("SCRAM-SHA-256", "alice", "pencil")
    will = ("w", b"x" * 20000, 0, False)
    held = []
    for i in range(6):
        c = raw.Client(b.port)
        CLEANUP.append(c.close)
        c.send(raw.connect("big%d" % i, 5, username="alice", will=will,
                           properties=auth_props("SCRAM-SHA-256",
                                                 sc.first())))
        expect_auth(c)
        held.append(c)
    b.wait_stat("connect.dropped", lambda v: v >= 3, 10)
    check(b.stat("connect.bytes") <= 64 * 1024, "%d bytes held" %
          b.stat("connect.bytes"))
    check(held[0].closed(5), "the oldest went")
    check(not held[-1].closed(0.2), "the newest stays")
    # The newest still completes its exchange.
    c, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", "alice", "pencil",
                                cid="after")
    check(rc == 0, "a new client still connects")


def test_scram_oversized_auth_data():
    """An AUTH whose data is larger than any SCRAM message (1 KiB) is
    refused before it reaches authd: at a challenge with a CONNACK (MQTT
    5, 4.12), connected with a DISCONNECT."""
    b = scram_broker()
    c = scram_challenged(b, "over")
    c.send(auth_packet(0x18, "SCRAM-SHA-256", "x" * 2000))
    rc, _ = connack(c)
    check(rc == 0x87, "CONNACK 0x87 at the challenge: %#x" % rc)
    check(c.closed(5), "and closed")
    c, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", "alice", "pencil",
                                cid="over2")
    check(rc == 0, "connected")
    c.send(auth_packet(0x19, "SCRAM-SHA-256", "x" * 2000))
    p = c.read(10)
    check(p is not None and p[0] >> 4 == 14 and p[1][0] == 0x87,
          "DISCONNECT 0x87 connected: %r" % (p,))
    wait_for(lambda: b.stat("authd.scram_exchanges") == 0, 5, "none left")
    c, rc, _, _ = scram_connect(b, "SCRAM-SHA-256", "alice", "pencil",
                                cid="over3")
    check(rc == 0, "others still log in")
