# TLS, WebSocket and PROXY protocol listeners, served by tlsproxy, with
# real clients: mosquitto_pub/sub, paho-mqtt, openssl s_client, MQTT.js,
# HAProxy and headless Chromium.  The certificates are made by
# tests/pki/mkpki (tlspki.py).

import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse

import harness
import mqttraw as raw
from harness import (IS_ROOT, TestFailure, broker, check, free_port,
                     memory_holds, wait_for)
from tlspki import f as pki

HERE = os.path.dirname(os.path.abspath(__file__))


def cleanup(fn):
    # harness.CLEANUP as it is when the test runs: run.py sets a new list
    # for each test after importing this module.
    harness.CLEANUP.append(fn)


def tls_listen(port, opts="", cert="server-rsa"):
    return ('listen on 127.0.0.1 port %d allow anonymous tls '
            'certificate "%s" key "%s" %s' % (
                port, pki(cert + ".crt"), pki(cert + ".key"), opts))


def tls_broker(opts="", more=(), **kw):
    port = free_port()
    b = broker(listen=[tls_listen(port, opts)] + list(more), **kw)
    b.tls_port = port
    return b


def mosq(cmd, port, *args, cert=None, timeout=20):
    argv = [cmd, "-h", "localhost", "-p", str(port),
            "--cafile", pki("ca.crt")]
    if cert:
        argv += ["--cert", pki(cert + ".crt"), "--key", pki(cert + ".key")]
    return argv + list(args)


def mosq_pub(port, msg, cert=None, topic="t"):
    return subprocess.run(mosq("mosquitto_pub", port, "-t", topic, "-m",
                               msg, "-q", "1", cert=cert),
                          capture_output=True, text=True, timeout=20)


def sub_start(b, port, topic, count, cert=None, nsubs=1):
    p = subprocess.Popen(mosq("mosquitto_sub", port, "-t", topic, "-q", "1",
                              "-C", str(count), "-W", "30", cert=cert),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    cleanup(lambda: p.poll() is None and p.kill())
    b.wait_subs(nsubs)
    return p


def s_client(port, *args, servername="localhost"):
    r = subprocess.run(["openssl", "s_client", "-brief", "-connect",
                        "127.0.0.1:%d" % port, "-servername", servername,
                        "-CAfile", pki("ca.crt")] + list(args),
                       input="", capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout + r.stderr


def test_tls_mosquitto_clients():
    b = tls_broker('ca "%s" crl "%s"' % (pki("ca.crt"), pki("crl.pem")))
    b.start()
    # A client certificate is asked for, not required.
    sub = sub_start(b, b.tls_port, "t", 2, cert="client")
    r = mosq_pub(b.tls_port, "with-certificate", cert="client")
    check(r.returncode == 0, "mosquitto_pub with a certificate: %s" %
          r.stderr)
    r = mosq_pub(b.tls_port, "without")
    check(r.returncode == 0, "mosquitto_pub without one: %s" % r.stderr)
    out, err = sub.communicate(timeout=30)
    check(out.split() == ["with-certificate", "without"],
          "received %r %r" % (out, err))
    b.wait_log(r"from tlsproxy: tls, TLSv1\.3, CN device-1")
    check(b.stat("connections.tlsproxy") == 3, "3 connections relayed")


def test_tls_refused_certificates():
    b = tls_broker('ca "%s" crl "%s" client certificate required' % (
        pki("ca.crt"), pki("crl.pem")))
    b.start()
    r = mosq_pub(b.tls_port, "good", cert="client")
    check(r.returncode == 0, "a good certificate: %s" % r.stderr)
    bad = [(None, "peer did not return a certificate"),
           ("client-otherca", "unable to get local issuer certificate"),
           ("client-expired", "certificate has expired"),
           ("client-future", "certificate is not yet valid"),
           ("client-revoked", "certificate revoked")]
    for cert, why in bad:
        r = mosq_pub(b.tls_port, "bad", cert=cert)
        check(r.returncode != 0, "%s accepted" % cert)
        b.wait_log("TLS handshake: .*%s" % why)
    b.wait_stat("tlsproxy.tls_failed", lambda v: v == len(bad))
    check(b.stat("connections.tlsproxy") == 1, "only the good one relayed")


def test_tls_paho():
    import paho.mqtt.client as mqtt
    b = tls_broker('ca "%s" client certificate required' % pki("ca.crt"))
    b.start()
    got = []
    if hasattr(mqtt, "CallbackAPIVersion"):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, "paho-tls")
    else:
        c = mqtt.Client("paho-tls")
    c.tls_set(ca_certs=pki("ca.crt"), certfile=pki("client.crt"),
              keyfile=pki("client.key"))
    c.on_message = lambda cl, ud, m: got.append(m.payload)
    c.connect("localhost", b.tls_port)
    c.loop_start()
    cleanup(c.loop_stop)
    c.subscribe("paho/t", qos=1)
    b.wait_subs(1)
    c.publish("paho/t", b"paho over tls", qos=1)
    wait_for(lambda: got, 10, "paho's own message")
    check(got == [b"paho over tls"], "paho received %r" % got)
    c.disconnect()


def test_tls_versions_and_ciphers():
    p13, pch = free_port(), free_port()
    b = tls_broker("", [
        tls_listen(p13, "tls 1.3 only"),
        tls_listen(pch, 'ciphers "ECDHE-RSA-CHACHA20-POLY1305" '
                   'ciphersuites "TLS_CHACHA20_POLY1305_SHA256"')])
    b.start()
    rc, out = s_client(b.tls_port, "-tls1_2")
    check(rc == 0 and "Protocol version: TLSv1.2" in out, "1.2: %s" % out)
    check("Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256" in out,
          "the default 1.2 cipher: %s" % out)
    rc, out = s_client(b.tls_port, "-tls1_3")
    check(rc == 0 and "Protocol version: TLSv1.3" in out, "1.3: %s" % out)
    rc, out = s_client(b.tls_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    check(rc != 0, "TLS 1.1 accepted: %s" % out)
    rc, out = s_client(p13, "-tls1_2")
    check(rc != 0, "TLS 1.2 on a 1.3-only listener: %s" % out)
    rc, out = s_client(p13, "-tls1_3")
    check(rc == 0, "TLS 1.3 on a 1.3-only listener: %s" % out)
    rc, out = s_client(pch, "-tls1_2", "-cipher",
                       "ECDHE-RSA-AES128-GCM-SHA256")
    check(rc != 0, "a cipher not in the list: %s" % out)
    rc, out = s_client(pch, "-tls1_2")
    check(rc == 0 and "ECDHE-RSA-CHACHA20-POLY1305" in out,
          "the listed 1.2 cipher: %s" % out)
    rc, out = s_client(pch, "-tls1_3")
    check(rc == 0 and "TLS_CHACHA20_POLY1305_SHA256" in out,
          "the listed 1.3 suite: %s" % out)


def test_tls_sni_rsa_and_ecdsa():
    d = tempfile.mkdtemp(prefix="brokerd-keypairs-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    for name in ("server-ec", "sni"):
        for ext in (".crt", ".key"):
            shutil.copy(pki(name + ext), os.path.join(d, name + ext))
    port = free_port()
    b = broker(listen=[tls_listen(port, 'keypairs "%s"' % d)]).start()
    rc, out = s_client(port, servername="other.example")
    check(rc == 0 and "CN = other.example" in out, "SNI: %s" % out)
    rc, out = s_client(port, servername="x.wild.example")
    check(rc == 0 and "CN = other.example" in out, "wildcard: %s" % out)
    # localhost has an RSA and an ECDSA certificate; the client chooses.
    rc, out = s_client(port, "-sigalgs", "ECDSA+SHA256", "-tls1_3")
    check(rc == 0 and "CN = localhost" in out and "ecdsa" in out.lower(),
          "ECDSA: %s" % out)
    rc, out = s_client(port, "-sigalgs", "RSA-PSS+SHA256", "-tls1_3")
    check(rc == 0 and "CN = localhost" in out and "rsa" in out.lower(),
          "RSA: %s" % out)


def test_plain_mqtt_on_tls_listener():
    b = tls_broker().start()
    c = raw.Client(b.tls_port)
    cleanup(c.close)
    c.send(raw.connect("plain", 4))
    check(c.closed(5), "closed")
    b.wait_log("plain MQTT CONNECT on a TLS listener, closed")
    b.wait_stat("tlsproxy.plain_mqtt", lambda v: v == 1)


def test_tls_handshake_limits():
    b = tls_broker("max handshakes per address 2 handshake timeout 1")
    b.start()
    socks = []
    for i in range(3):
        s = socket.create_connection(("127.0.0.1", b.tls_port), timeout=5)
        cleanup(s.close)
        socks.append(s)
    # The third is one too many; the others time out without a hello.
    check(socks[2].recv(1) == b"", "the third closed")
    for s in socks[:2]:
        s.settimeout(5)
        check(s.recv(1) == b"", "closed by the deadline")
    b.wait_stat("tlsproxy.refused_addr", lambda v: v == 1)
    b.wait_stat("tlsproxy.handshake_timeouts", lambda v: v == 2)
    b.wait_stat("tlsproxy.handshakes", lambda v: v == 0)


def test_tls_reload_replaces_certificates():
    d = tempfile.mkdtemp(prefix="brokerd-reload-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")

    def install(name, mode=0o600):
        shutil.copy(pki(name + ".crt"), cert)
        shutil.copy(pki(name + ".key"), key)
        os.chmod(key, mode)

    install("server-rsa")
    port = free_port()
    b = broker(listen=['listen on 127.0.0.1 port %d allow anonymous tls '
                       'certificate "%s" key "%s"' % (port, cert, key)])
    b.start()
    sub = sub_start(b, port, "r", 3)
    r = mosq_pub(port, "one", topic="r")
    check(r.returncode == 0, "before the reload: %s" % r.stderr)
    rc, out = s_client(port, "-tls1_3")
    check("rsa" in out.lower(), "RSA before: %s" % out)

    # A new certificate: new handshakes get it, the subscriber stays.
    install("server-ec")
    b.signal(signal.SIGHUP)
    b.wait_log("configuration reloaded")
    wait_for(lambda: "ecdsa" in s_client(port, "-tls1_3")[1].lower(), 10,
             "the ECDSA certificate after the reload")
    r = mosq_pub(port, "two", topic="r")
    check(r.returncode == 0, "after the reload: %s" % r.stderr)

    # Files that do not load, or a key others may read: the set stays.
    with open(key, "w") as fp:
        fp.write("not a key\n")
    b.signal(signal.SIGHUP)
    b.wait_log("listener 127.0.0.1 port %d: .*key.*; it keeps its running "
               "certificates" % port)
    install("server-rsa", 0o644)
    b.signal(signal.SIGHUP)
    b.wait_log("a key readable or writable by group or others.*it keeps "
               "its running certificates")
    rc, out = s_client(port, "-tls1_3")
    check(rc == 0 and "ecdsa" in out.lower(), "still ECDSA: %s" % out)
    r = mosq_pub(port, "three", topic="r")
    check(r.returncode == 0, "after the bad reloads: %s" % r.stderr)
    out, err = sub.communicate(timeout=30)
    check(out.split() == ["one", "two", "three"],
          "the subscriber across the reloads: %r %r" % (out, err))


def test_tls_key_refused_at_start():
    d = tempfile.mkdtemp(prefix="brokerd-badkey-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    key = os.path.join(d, "key.pem")
    shutil.copy(pki("server-rsa.key"), key)
    os.chmod(key, 0o640)
    port = free_port()
    b = broker(listen=['listen on 127.0.0.1 port %d tls certificate "%s" '
                       'key "%s"' % (port, pki("server-rsa.crt"), key)])
    b.start(wait=False)
    check(b.wait_exit() != 0, "brokerd refused to start")
    check("a key readable or writable by group or others" in b.logtext(),
          "why: %s" % b.logtext())


def key_lines(name):
    """Lines of a PEM key, base64 as the file has them."""
    with open(pki(name)) as fp:
        return [ln.strip().encode() for ln in fp
                if not ln.startswith("-----") and len(ln.strip()) >= 40]


def test_tls_key_not_in_parent_or_engine_memory():
    if not IS_ROOT:
        raise Exception("needs root to read the processes' memory")
    b = tls_broker().start()
    r = mosq_pub(b.tls_port, "x")
    check(r.returncode == 0, "a TLS client: %s" % r.stderr)
    b.signal(signal.SIGHUP)
    b.wait_log("configuration reloaded")
    r = mosq_pub(b.tls_port, "y")
    check(r.returncode == 0, "after the reload: %s" % r.stderr)
    kids = b.children()
    lines = key_lines("server-rsa.key")
    check(len(lines) > 10, "the key has lines to look for")
    # Whatever is in memory, the test finds it: a copy of our own.
    check(memory_holds(os.getpid(), lines[4]), "the scan finds a copy")
    for who, pid in (("parent", b.pid), ("engine", kids["engine"])):
        for ln in lines[1:-1]:
            where = memory_holds(pid, ln)
            check(not where, "a line of the key in the %s's %s" %
                  (who, where))


def test_websocket_mqttjs():
    ws, wss = free_port(), free_port()
    b = broker(listen=[
        "listen on 127.0.0.1 port %d allow anonymous websocket" % ws,
        tls_listen(wss, "websocket")]).start()
    for url, ca in (("ws://127.0.0.1:%d/mqtt" % ws, None),
                    ("wss://localhost:%d/mqtt" % wss, pki("ca.crt"))):
        argv = ["node", os.path.join(HERE, "mqttjs_ws.js"), url]
        if ca:
            argv.append(ca)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           cwd=HERE)
        check(r.returncode == 0, "MQTT.js %s: %s %s" % (url, r.stdout,
                                                       r.stderr))
        res = json.loads(r.stdout)
        got = [(m["topic"], m["length"], m["same"])
               for m in res["received"]]
        check(sorted(got) == [("ws/a", 14, True), ("ws/b", 70000, True),
                              ("ws/c", 4, True)],
              "%s: received %s, errors %s" % (url, got, res["errors"]))
    b.wait_log(r"from tlsproxy: ws\b")
    b.wait_log(r"from tlsproxy: wss, TLSv1\.3")


def upgrade(port, origin=None, protocol="mqtt"):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    cleanup(s.close)
    req = ("GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n")
    if protocol:
        req += "Sec-WebSocket-Protocol: %s\r\n" % protocol
    if origin:
        req += "Origin: %s\r\n" % origin
    s.sendall((req + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return s, data.decode(errors="replace")


def test_websocket_origins_and_bad_frames():
    port = free_port()
    b = broker(listen=['listen on 127.0.0.1 port %d allow anonymous '
                       'websocket websocket origins "https://app.example,'
                       'http://localhost:8080"' % port]).start()
    s, head = upgrade(port, "https://evil.example")
    check(head.startswith("HTTP/1.1 403 "), "a foreign origin: %s" % head)
    s, head = upgrade(port, "http://localhost:8080", "chat")
    check(head.startswith("HTTP/1.1 400 "), "no mqtt subprotocol: %s" %
          head)
    s, head = upgrade(port, "https://app.example")
    check(head.startswith("HTTP/1.1 101 ") and
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head,
          "allowed: %s" % head)
    # An unmasked frame: close code 1002, then the end.
    s.sendall(b"\x82\x02\x10\x00")
    data = s.recv(16)
    check(data[:4] == b"\x88\x02\x03\xea", "close 1002: %r" % data)
    check(s.recv(16) == b"", "closed")
    b.wait_stat("tlsproxy.http_bad", lambda v: v == 2)
    b.wait_stat("tlsproxy.ws_bad", lambda v: v == 1)


def haproxy(cfg):
    if shutil.which("haproxy") is None:
        raise Exception("needs haproxy (Debian package haproxy)")
    d = tempfile.mkdtemp(prefix="brokerd-haproxy-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    path = os.path.join(d, "haproxy.cfg")
    with open(path, "w") as fp:
        fp.write("defaults\n    mode tcp\n    timeout connect 5s\n"
                 "    timeout client 30s\n    timeout server 30s\n" + cfg)
    p = subprocess.Popen(["haproxy", "-db", "-f", path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
    return p


def wait_port(port):
    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, 10, "port %d" % port)


def test_haproxy_send_proxy_v2():
    bport, fport, tport = free_port(), free_port(), free_port()
    d = tempfile.mkdtemp(prefix="brokerd-haproxy-pem-")
    cleanup(lambda: shutil.rmtree(d, ignore_errors=True))
    pem = os.path.join(d, "server.pem")
    with open(pem, "w") as out:
        for name in ("server-rsa.crt", "server-rsa.key"):
            with open(pki(name)) as fp:
                out.write(fp.read())
    b = broker(listen=["listen on 127.0.0.1 port %d allow anonymous "
                       "proxy protocol" % bport]).start()
    # Plain TCP through HAProxy, and TLS it terminates with a client
    # certificate it verifies and passes on as PP2_SUBTYPE_SSL_CN.
    haproxy("frontend plain\n    bind 127.0.0.1:%d\n"
            "    default_backend brokerd\n"
            "frontend tls\n    bind 127.0.0.1:%d ssl crt %s ca-file %s "
            "verify required\n    default_backend brokerd_ssl\n"
            "backend brokerd\n    server b 127.0.0.1:%d send-proxy-v2\n"
            "backend brokerd_ssl\n    server b 127.0.0.1:%d "
            "send-proxy-v2-ssl-cn\n" % (fport, tport, pem, pki("ca.crt"),
                                        bport, bport))
    wait_port(fport)
    c = raw.Client(fport)
    cleanup(c.close)
    local = c.sock.getsockname()[1]
    c.send(raw.connect("via-haproxy", 4))
    c.expect(2)
    b.wait_log(r"client via-haproxy 127\.0\.0\.1:%d on .*connected" % local)
    b.wait_log(r"127\.0\.0\.1:%d .*from tlsproxy: tcp, proxied" % local)
    r = subprocess.run(mosq("mosquitto_pub", tport, "-t", "t", "-m", "m",
                            cert="client"), capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 0, "TLS through HAProxy: %s" % r.stderr)
    b.wait_log(r"from tlsproxy: tcp, proxied, TLSv1\.3, CN device-1")
    # Straight to brokerd, without a header: refused.
    c2 = raw.Client(bport)
    cleanup(c2.close)
    c2.send(raw.connect("direct", 4))
    check(c2.closed(5), "a connection without a PROXY header is closed")
    b.wait_stat("tlsproxy.proxy_bad", lambda v: v >= 1)


class PageServer(http.server.BaseHTTPRequestHandler):
    """The page, MQTT.js for the browser, and what the page reports."""
    ws_port = 0
    events = []

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        if u.path == "/":
            body = (PAGE % self.ws_port).encode()
            ctype = "text/html"
        elif u.path == "/mqtt.min.js":
            with open(os.path.join(HERE, "node_modules", "mqtt", "dist",
                                   "mqtt.min.js"), "rb") as fp:
                body = fp.read()
            ctype = "application/javascript"
        else:
            q = urllib.parse.parse_qs(u.query)
            PageServer.events.append((u.path, q.get("m", [""])[0]))
            body, ctype = b"ok", "text/plain"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


PAGE = """<!doctype html>
<html><head><script src="/mqtt.min.js"></script></head>
<body><p id="out">waiting</p><script>
const c = mqtt.connect('ws://127.0.0.1:%d/mqtt', { reconnectPeriod: 0 });
c.on('error', (e) => fetch('/error?m=' + encodeURIComponent(String(e))));
c.on('connect', () => c.subscribe('browser/t', { qos: 1 }, () =>
  fetch('/subscribed')));
c.on('message', (t, m) => {
  document.getElementById('out').textContent = m.toString();
  fetch('/result?m=' + encodeURIComponent(
    document.getElementById('out').textContent));
});
</script></body></html>
"""


def test_chromium_mqttjs_over_websocket():
    exe = shutil.which("chromium")
    if exe is None:
        raise Exception("needs chromium (Debian package chromium)")
    ws, tcp = free_port(), free_port()
    b = broker(listen=["listen on 127.0.0.1 port %d allow anonymous "
                       "websocket" % ws,
                       "listen on 127.0.0.1 port %d allow anonymous" % tcp])
    b.start()
    PageServer.ws_port = ws
    PageServer.events = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PageServer)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cleanup(srv.shutdown)
    prof = tempfile.mkdtemp(prefix="brokerd-chromium-")
    cleanup(lambda: shutil.rmtree(prof, ignore_errors=True))
    p = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking",
                          "--no-first-run", "--user-data-dir=" + prof,
                          "http://127.0.0.1:%d/" % srv.server_address[1]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)

    def stop():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    cleanup(stop)

    def saw(path):
        errs = [e for e in PageServer.events if e[0] == "/error"]
        if errs:
            raise TestFailure("the page: %s" % errs)
        return [m for pth, m in PageServer.events if pth == path]

    wait_for(lambda: saw("/subscribed"), 60, "the page to subscribe")
    r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(tcp),
                        "-t", "browser/t", "-q", "1", "-m",
                        "hello, browser"], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 0, "mosquitto_pub: %s" % r.stderr)
    wait_for(lambda: saw("/result"), 30, "the page to get the message")
    check(saw("/result") == ["hello, browser"],
          "the page wrote %r" % saw("/result"))
    b.wait_log(r"from tlsproxy: ws\b")
