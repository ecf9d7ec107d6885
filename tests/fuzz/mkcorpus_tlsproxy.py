#!/usr/bin/python3
# Seed inputs for fuzz_ws, fuzz_http and fuzz_proxy (see the comments at
# the top of each): the first byte picks the variant, the rest is what a
# client or a load balancer sends.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, variant, body):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes([variant]) + body)


# --- WebSocket frames, as a client masks them.
MASK = b"\x37\xfa\x21\x3d"


def frame(op, payload=b"", fin=True, mask=MASK, rsv=0, lenform=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    mbit = 0x80 if mask else 0
    if lenform is None:
        lenform = 1 if n <= 125 else 2 if n <= 0xffff else 8
    if lenform == 1:
        h = bytes([b0, mbit | n])
    elif lenform == 2:
        h = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        h += mask
        payload = bytes(c ^ mask[i & 3] for i, c in enumerate(payload))
    return h + payload


CONNECT = bytes.fromhex("101000044d5154540402003c0004746573740000")[:18]
PUBLISH = b"\x30\x0b\x00\x03a/bhello"
ws = {
    "binary": frame(2, CONNECT),
    "two_messages": frame(2, CONNECT) + frame(2, PUBLISH),
    "fragmented": frame(2, PUBLISH[:4], fin=False) + frame(9, b"ping") +
    frame(0, PUBLISH[4:8], fin=False) + frame(0, PUBLISH[8:]),
    "len16": frame(2, bytes(300)),
    "len64": frame(2, bytes(70000))[:300],
    "ping_pong": frame(9, b"x" * 125) + frame(10, b""),
    "close": frame(8, struct.pack(">H", 1000) + b"bye"),
    "close_empty": frame(8),
    "close_bad_code": frame(8, struct.pack(">H", 1005)),
    "close_bad_utf8": frame(8, struct.pack(">H", 1000) + b"\xc3\x28"),
    "after_close": frame(8) + frame(2, b"x"),
    "text": frame(1, b"hello"),
    "unmasked": frame(2, b"hello", mask=None),
    "rsv": frame(2, b"hello", rsv=4),
    "reserved_op": frame(3, b"hello"),
    "long_ping": frame(9, b"p" * 126),
    "not_shortest": frame(2, b"abc", lenform=2),
    "stray_cont": frame(0, b"abc"),
    "many_fragments": frame(2, b"", fin=False) +
    b"".join(frame(0, b"", fin=False) for _ in range(80)),
}
variants = [0x00, 0x19, 0x5a, 0x7b, 0xe4, 0x27, 0x66, 0x9f]
for i, (name, body) in enumerate(sorted(ws.items())):
    out("fuzz_ws", name, variants[i % len(variants)], body)

# --- HTTP upgrade requests.
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def request(lines, first="GET /mqtt HTTP/1.1"):
    return ("\r\n".join([first] + lines) + "\r\n\r\n").encode()


GOOD = ["Host: localhost:8080", "Upgrade: websocket",
        "Connection: Upgrade", "Sec-WebSocket-Key: " + KEY,
        "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: mqtt"]
http = {
    "good": request(GOOD),
    "chromium": request([
        "Host: 127.0.0.1:9001", "Connection: Upgrade",
        "Pragma: no-cache", "Cache-Control: no-cache",
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
        "Upgrade: websocket", "Origin: http://127.0.0.1:8000",
        "Sec-WebSocket-Version: 13",
        "Accept-Encoding: gzip, deflate, br",
        "Accept-Language: en-US,en;q=0.9",
        "Sec-WebSocket-Key: " + KEY,
        "Sec-WebSocket-Extensions: permessage-deflate; "
        "client_max_window_bits",
        "Sec-WebSocket-Protocol: mqtt"]),
    "origin": request(GOOD + ["Origin: https://app.example"]),
    "bad_origin": request(GOOD + ["Origin: https://evil.example"]),
    "mqttv31": request(GOOD[:5] + ["Sec-WebSocket-Protocol: mqttv3.1"]),
    "no_protocol": request(GOOD[:5]),
    "version8": request(GOOD[:4] + ["Sec-WebSocket-Version: 8"]),
    "post": request(GOOD, first="POST /mqtt HTTP/1.1"),
    "http10": request(GOOD, first="GET /mqtt HTTP/1.0"),
    "folded": request(GOOD + [" folded"]),
    "body": request(GOOD + ["Content-Length: 4"]) + b"abcd",
    "then_frame": request(GOOD) + frame(2, CONNECT),
    "bare_lf": b"GET / HTTP/1.1\nHost: a\n\n",
    "mqtt_connect": CONNECT,
}
variants = [0x00, 0x19, 0x2c, 0x3b, 0x48, 0x5d, 0x69, 0x7e]
for i, (name, body) in enumerate(sorted(http.items())):
    out("fuzz_http", name, variants[i % len(variants)] | 0x0c, body)

# --- PROXY headers.
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def tlv(t, v):
    return bytes([t]) + struct.pack(">H", len(v)) + v


def v2(cmd, fam, body):
    return SIG + bytes([0x20 | cmd, fam]) + struct.pack(">H", len(body)) + body


def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
    return crc ^ 0xffffffff


A4 = bytes([192, 0, 2, 1, 198, 51, 100, 7]) + struct.pack(">HH", 56324, 8883)
A6 = bytes(15) + b"\x01" + bytes(15) + b"\x01" + struct.pack(">HH", 1, 2)
SSL = tlv(0x20, b"\x03" + bytes(4) + tlv(0x21, b"TLSv1.3") +
          tlv(0x22, b"device-17") + tlv(0x23, b"TLS_AES_128_GCM_SHA256"))
with_crc = v2(1, 0x11, A4 + tlv(0x01, b"mqtt") + tlv(0x03, bytes(4)))
with_crc = with_crc[:-4] + struct.pack(">I", crc32c(with_crc))
proxy = {
    "v1_tcp4": b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 8883\r\n" + CONNECT,
    "v1_tcp6": b"PROXY TCP6 2001:db8::1 ::1 65535 1883\r\n",
    "v1_unknown": b"PROXY UNKNOWN\r\n",
    "v1_bad": b"PROXY TCP4 192.0.2.1  198.51.100.7 1 2\r\n",
    "v2_inet": v2(1, 0x11, A4) + CONNECT,
    "v2_inet6": v2(1, 0x21, A6),
    "v2_local": v2(0, 0x00, b""),
    "v2_unix": v2(1, 0x31, bytes(216)),
    "v2_ssl": v2(1, 0x11, A4 + tlv(0x04, b"..") + tlv(0x02, b"example") +
                 tlv(0x05, b"id-1") + SSL),
    "v2_crc": with_crc,
    "v2_truncated_tlv": v2(1, 0x11, A4 + b"\x01\x00"),
    "tls_hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
}
variants = [0x0c, 0x08, 0x0d, 0x0e, 0x00, 0x04]
for i, (name, body) in enumerate(sorted(proxy.items())):
    out("fuzz_proxy", name, variants[i % len(variants)], body)
