# Prometheus metrics: scraped over HTTP from a metrics listener and read
# with brokerctl show metrics; the text checked by promtool (Debian's
# prometheus package, if installed) and always by the parser below; and
# what a hostile HTTP client gets.

import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

from harness import binary, broker, check, free_port, pub, wait_for

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"' \
         r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\}'


def parse_exposition(text):
    """The text format 0.0.4, strictly: {(name, labels): value}, with
    every family helped and typed once, before its samples; counters
    named *_total."""
    check(text.endswith("\n"), "ends with a newline")
    types, helps, samples = {}, set(), {}
    for line in text.splitlines():
        m = re.fullmatch(r"# HELP (%s) (.+)" % NAME, line)
        if m:
            check(m.group(1) not in helps, "HELP twice: %s" % line)
            helps.add(m.group(1))
            continue
        m = re.fullmatch(r"# TYPE (%s) (counter|gauge)" % NAME, line)
        if m:
            check(m.group(1) not in types, "TYPE twice: %s" % line)
            check(m.group(1) in helps, "TYPE before HELP: %s" % line)
            types[m.group(1)] = m.group(2)
            continue
        m = re.fullmatch(r"(%s)(%s)? (\S+)" % (NAME, LABELS), line)
        check(m is not None, "not a sample: %r" % line)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        check(name in types, "sample before its TYPE: %s" % line)
        check((types[name] == "counter") == name.endswith("_total"),
              "counters and only counters end in _total: %s" % line)
        float(value)
        check((name, labels) not in samples, "twice: %s" % line)
        samples[(name, labels)] = float(value)
    return samples


def promtool(text):
    if shutil.which("promtool") is None:
        return
    r = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "promtool check metrics: %s%s" % (r.stdout,
                                                              r.stderr))


def metrics_broker():
    mport = free_port()
    b = broker(extra="listen on 127.0.0.1 port %d metrics" % mport)
    b.mport = mport
    return b.start()


def scrape(b, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (b.mport, path),
                                timeout=10) as r:
        check(r.status == 200, "status %d" % r.status)
        check(r.headers["Content-Type"] ==
              "text/plain; version=0.0.4; charset=utf-8",
              "content type %s" % r.headers["Content-Type"])
        return r.read().decode()


def test_metrics_scrape():
    b = metrics_broker()
    text = scrape(b)
    promtool(text)
    m = parse_exposition(text)
    before = m[("brokerd_publish_messages_received_total", "")]
    for i in range(3):
        pub(b, "t", "hello")
    m = wait_for(lambda: (lambda x: x if x[
        ("brokerd_publish_messages_received_total", "")] >= before + 3
        else None)(parse_exposition(scrape(b))), 10, "the counter to move")
    check(m[("brokerd_publish_bytes_received_total", "")] >= 15,
          "payload bytes")
    check(m[("brokerd_listener_connections_accepted_total",
             '{listener="127.0.0.1 port %d",type="mqtt"}' % b.port)] >= 3,
          "per listener: %s" % [k for k in m if "listener" in k[0]])
    check(m[("brokerd_listener_connections",
             '{listener="127.0.0.1 port %d",type="metrics"}' % b.mport)]
          >= 1, "this scrape")
    for p in ("parent", "engine", "tlsproxy", "authd", "storaged"):
        check(m[("brokerd_process_resident_memory_bytes",
                 '{process="%s"}' % p)] > 0, "memory of %s" % p)
        check(("brokerd_process_cpu_seconds_total",
               '{process="%s"}' % p) in m, "cpu of %s" % p)
    check(m[("brokerd_build_info", '{version="0.1"}')] == 1, "build info")
    # brokerctl show metrics: the same families.
    r = b.ctl("show", "metrics")
    promtool(r.stdout)
    mine = parse_exposition(r.stdout)
    check({k[0] for k in mine} == {k[0] for k in m}, "the same families")
    check(mine[("brokerd_http_requests_total", "")] >= 2, "scrapes counted")
    # HEAD: the headers alone.
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % b.mport,
                                 method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as resp:
        check(resp.status == 200 and resp.read() == b"" and
              int(resp.headers["Content-Length"]) > 1000, "HEAD")
    li = [x for x in b.stats() if x.startswith("http.")]
    check(sorted(li) == ["http.errors", "http.refused", "http.requests"],
          "stats: %s" % li)


def http_raw(b, data, timeout=10):
    """Send `data', return what comes back until the server closes."""
    s = socket.create_connection(("127.0.0.1", b.mport), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except ConnectionResetError:
        pass
    s.close()
    return out


def status_of(reply):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", reply)
    return int(m.group(1)) if m else None


def test_metrics_http_hostile():
    b = metrics_broker()
    cases = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n", 404),
        (b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
         405),
        (b"GET /metrics HTTP/1.1\r\n\r\n", 400),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400),
        (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
        (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 9000, 431),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n",
         413),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n", 501),
        (b"GET /metrics HTTP/1.1\nHost: x\n\n", 400),
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    ]
    for data, want in cases:
        reply = http_raw(b, data)
        check(status_of(reply) == want, "%r: %r, not %d" % (
            data[:40], reply[:60], want))
    # Half a request: 408 after the time limit.
    t0 = time.monotonic()
    reply = http_raw(b, b"GET /metrics HTTP/1.1\r\nHo", timeout=20)
    check(status_of(reply) == 408 and time.monotonic() - t0 > 3,
          "half a request: %r" % reply[:60])
    # More than 16 connections at once: the rest closed at once.
    socks = [socket.create_connection(("127.0.0.1", b.mport), timeout=10)
             for i in range(20)]
    s = socks[-1]
    check(s.recv(100) == b"", "the 20th is closed")
    for s in socks:
        s.close()
    wait_for(lambda: b.stat("http.refused") >= 4, 10, "refusals counted")
    check(b.stat("http.errors") >= len(cases), "errors counted")
    # Everything still works.
    wait_for(lambda: "brokerd_uptime_seconds" in scrape(b), 10, "a scrape")
    pub(b, "t", "still")


def test_metrics_listener_config():
    """`listen on ADDRESS metrics' without a port is port 9234."""
    b = broker(extra="listen on 127.0.0.1 metrics")
    r = subprocess.run([binary("brokerd"), "-nv", "-f", b.conf],
                       capture_output=True, text=True)
    check("listen on 127.0.0.1 port 9234 metrics" in r.stdout, r.stdout)
