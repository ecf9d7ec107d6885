# Raw MQTT packets, for tests that need bytes no well-behaved client
# library would send.  Only what the tests use.

import socket
import struct
import time


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def s(x):
    if isinstance(x, str):
        x = x.encode()
    return struct.pack("!H", len(x)) + x


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def props(*items):
    """items: (id, bytes) pairs already encoded."""
    b = b"".join(bytes([i]) + v for i, v in items)
    return varint(len(b)) + b


def connect(client_id="", version=4, clean=True, keepalive=60, will=None,
            username=None, password=None, properties=b"", will_props=b""):
    name = b"MQIsdp" if version == 3 else b"MQTT"
    flags = 0x02 if clean else 0
    payload = s(client_id)
    if will is not None:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        if version == 5:
            payload += will_props or b"\x00"
        payload += s(topic) + s(msg)
    if username is not None:
        flags |= 0x80
        payload += s(username)
    if password is not None:
        flags |= 0x40
        payload += s(password)
    vh = s(name) + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        vh += properties or b"\x00"
    return packet(0x10, vh + payload)


def publish(topic, payload=b"", qos=0, pid=1, retain=False, dup=False,
            version=4, properties=b""):
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = s(topic)
    if qos:
        body += struct.pack("!H", pid)
    if version == 5:
        body += properties or b"\x00"
    if isinstance(payload, str):
        payload = payload.encode()
    return packet(first, body + payload)


def subscribe(pid, filters, version=4, properties=b""):
    """filters: list of (filter, options byte)."""
    body = struct.pack("!H", pid)
    if version == 5:
        body += properties or b"\x00"
    for f, o in filters:
        body += s(f) + bytes([o])
    return packet(0x82, body)


def ack(kind, pid, version=4, reason=None):
    first = {"puback": 0x40, "pubrec": 0x50, "pubrel": 0x62,
             "pubcomp": 0x70}[kind]
    body = struct.pack("!H", pid)
    if version == 5 and reason is not None:
        body += bytes([reason])
    return packet(first, body)


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


class Client:
    """A socket speaking raw MQTT, with packet reading."""

    def __init__(self, port=None, path=None, timeout=10, source=None):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)
        else:
            # source: another loopback address (127.0.0.2) to come from
            self.sock = socket.create_connection(
                ("127.0.0.1", port), timeout=timeout,
                source_address=(source, 0) if source else None)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return False
            except ConnectionResetError:
                d = b""
            if not d:
                return False
            self.buf += d
        return True

    def read(self, timeout=10):
        """The next packet as (first byte, body), or None at EOF or
        after `timeout' seconds."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline):
            return None
        n, mult, i = 0, 1, 1
        while True:
            if not self._fill(i + 1, deadline):
                return None
            b = self.buf[i]
            n += (b & 0x7f) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        if not self._fill(i + n, deadline):
            return None
        first, body = self.buf[0], self.buf[i:i + n]
        self.buf = self.buf[i + n:]
        return first, body

    def expect(self, first_nibble, timeout=10):
        p = self.read(timeout)
        if p is None:
            raise AssertionError("expected packet type %d, got EOF or "
                                 "nothing" % first_nibble)
        if p[0] >> 4 != first_nibble:
            raise AssertionError("expected packet type %d, got %#x %r"
                                 % (first_nibble, p[0], p[1][:40]))
        return p

    def closed(self, timeout=10):
        """True if the broker closes the connection within `timeout'
        (packets before the close are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not d:
                return True
            self.buf += d
        return False

    def close(self):
        self.sock.close()


def connack_reason(p):
    """(session present, return code or reason code) of a CONNACK."""
    return p[1][0] & 1, p[1][1]


def parse_publish(first, body, version=4):
    """(topic, payload, qos, pid, retain, dup, properties bytes)."""
    qos = (first >> 1) & 3
    tl = struct.unpack("!H", body[:2])[0]
    topic = body[2:2 + tl].decode()
    i = 2 + tl
    pid = None
    if qos:
        pid = struct.unpack("!H", body[i:i + 2])[0]
        i += 2
    pr = b""
    if version == 5:
        n, mult, j = 0, 1, i
        while True:
            b = body[j]
            n += (b & 0x7f) * mult
            mult *= 128
            j += 1
            if not b & 0x80:
                break
        pr = body[j:j + n]
        i = j + n
    return topic, body[i:], qos, pid, bool(first & 1), bool(first & 8), pr
