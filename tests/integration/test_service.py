# Running as a service: the files make install puts in place for
# systemd, OpenBSD and FreeBSD, systemd-analyze verify on the unit,
# readiness told to systemd, SIGHUP that keeps clients, and client log
# lines rate-limited per kind.

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import harness
import mqttraw as raw
from harness import CLEANUP, broker, check, wait_for
from pahoclient import Paho

TOP = harness.TOP


def make(args):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    if harness.SANITIZE:
        args = args + ["SANITIZE=1"]
    return subprocess.run(["make", "-s", "BUILD=" + harness.BUILD] + args,
                          cwd=TOP, env=env, capture_output=True, text=True,
                          timeout=600)


def install(service):
    dest = tempfile.mkdtemp(prefix="brokerd-install-")
    CLEANUP.append(lambda: shutil.rmtree(dest, ignore_errors=True))
    r = make(["install", "DESTDIR=" + dest, "PREFIX=/usr/local",
              "SERVICE=" + service])
    check(r.returncode == 0, "make install SERVICE=%s: %s" % (
        service, r.stderr[-2000:]))
    return dest


def read(path):
    with open(path) as f:
        return f.read()


def test_systemd_files_installed_and_verified():
    dest = install("systemd")
    pre = os.path.join(dest, "usr", "local")
    unit = os.path.join(pre, "lib", "systemd", "system", "brokerd.service")
    for f in (unit, os.path.join(pre, "lib", "sysusers.d", "brokerd.conf"),
              os.path.join(pre, "lib", "tmpfiles.d", "brokerd.conf")):
        check(os.path.isfile(f), "installed %s" % f)
    text = read(unit)
    check("@" not in re.sub(r"#.*", "", text), "paths filled in")
    for want in ("Type=notify", "ExecStartPre=/usr/local/sbin/brokerd -n",
                 "ExecStart=/usr/local/sbin/brokerd -d",
                 "ExecReload=/bin/kill -HUP $MAINPID",
                 "NoNewPrivileges=yes", "ProtectSystem=strict"):
        check(want in text, "%s in the unit" % want)
    # The children load their own, narrower filters.
    check("SystemCallFilter" not in re.sub(r"#.*", "", text),
          "no SystemCallFilter")
    tmpf = read(os.path.join(pre, "lib", "tmpfiles.d", "brokerd.conf"))
    check(re.search(r"^d /var/db/brokerd\s+0700\s+_brokerdb", tmpf, re.M),
          "the data directory: %s" % tmpf)
    if shutil.which("systemd-analyze") is None:
        return
    # The unit as installed, its paths in the DESTDIR tree.
    mine = os.path.join(dest, "brokerd.service")
    with open(mine, "w") as f:
        f.write(text.replace("/usr/local/sbin", pre + "/sbin"))
    env = dict(os.environ, MANPATH=os.path.join(pre, "share", "man"))
    r = subprocess.run(["systemd-analyze", "verify", mine],
                       capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode == 0 and r.stderr.strip() == "",
          "systemd-analyze verify: %s%s" % (r.stdout, r.stderr))


def test_rc_scripts_installed():
    dest = install("openbsd")
    rc = os.path.join(dest, "etc", "rc.d", "brokerd")
    check(os.stat(rc).st_mode & 0o111, "executable")
    text = read(rc)
    check('daemon="/usr/local/sbin/brokerd"' in text, text)
    check(re.search(r"rc_pre\(\) \{\n\t\$\{daemon\} -n", text),
          "rc_pre checks the configuration")
    shell = shutil.which("ksh") or "sh"
    r = subprocess.run([shell, "-n", rc], capture_output=True, text=True)
    check(r.returncode == 0, "%s -n: %s" % (shell, r.stderr))
    dest = install("freebsd")
    rc = os.path.join(dest, "usr", "local", "etc", "rc.d", "brokerd")
    text = read(rc)
    check('command="/usr/local/sbin/brokerd"' in text and
          "/usr/local/etc/brokerd.conf" in text and
          "# PROVIDE: brokerd" in text and 'sig_reload="HUP"' in text,
          text)
    r = subprocess.run(["sh", "-n", rc], capture_output=True, text=True)
    check(r.returncode == 0, "sh -n: %s" % r.stderr)


def test_ready_told_to_systemd():
    """NOTIFY_SOCKET: READY=1 once every child is sandboxed, STOPPING=1
    at the end; the children do not see the variable."""
    d = tempfile.mkdtemp(prefix="brokerd-notify-")
    CLEANUP.append(lambda: shutil.rmtree(d, ignore_errors=True))
    path = os.path.join(d, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)
    s.settimeout(20)
    os.environ["NOTIFY_SOCKET"] = path
    try:
        b = broker().start(wait=False)
    finally:
        del os.environ["NOTIFY_SOCKET"]
    msg = s.recv(100)
    check(msg == b"READY=1", "got %r" % msg)
    check("brokerd ready" in b.logtext(), "ready after the log line")
    for name, pid in b.children().items():
        with open("/proc/%d/environ" % pid, "rb") as f:
            check(b"NOTIFY_SOCKET" not in f.read(), "%s: no NOTIFY_SOCKET"
                  % name)
    b.signal(signal.SIGTERM)
    check(s.recv(100) == b"STOPPING=1", "STOPPING=1")
    b.wait_exit()


def test_sighup_keeps_clients():
    b = broker().start()
    c = Paho(b.port, client_id="stays", v5=True)
    CLEANUP.append(lambda: c.close(disconnect=False))
    c.subscribe("t", 1)
    b.write_conf(b.conf_text(extra="max inflight 32"))
    b.signal(signal.SIGHUP)
    b.wait_log("configuration reloaded")
    c.publish("t", b"after", qos=1)
    c.wait_msgs(1)
    check(c.disconnected is None, "still connected")
    check(b.stat("clients") == 1, "one client")


def test_client_log_lines_limited_per_kind():
    """A flood of one kind of bad client is logged 20 times in 10 s; a
    line of another kind still gets through."""
    b = broker(verbose=False).start()
    for i in range(60):
        c = raw.Client(b.port)
        c.send(raw.connect("flood%d" % i, 4) + b"\xf0\x00")
        c.closed(5)
        c.close()
    wait_for(lambda: b.stat("protocol_errors") >= 60, 10, "60 errors")
    n = len(re.findall(r"client flood\d+ ", b.logtext()))
    check(20 <= n <= 21, "%d lines for 60 errors" % n)
    # Another kind: a session taken over.
    a = raw.Client(b.port)
    CLEANUP.append(a.close)
    a.send(raw.connect("twice", 4))
    a.expect(2)
    a2 = raw.Client(b.port)
    CLEANUP.append(a2.close)
    a2.send(raw.connect("twice", 4))
    a2.expect(2)
    b.wait_log(r"client twice .*session taken over")
