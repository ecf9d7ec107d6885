# Integration test harness: start the real brokerd with a configuration in
# a temporary directory, on free ports of 127.0.0.1, and clean up after.
#
# Waiting is always for a condition (a log line, a process state, a port),
# polled with a deadline; nothing relies on a fixed sleep being enough.

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("BROKERD_BUILD", "build")
TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

IS_ROOT = os.geteuid() == 0
# make SANITIZE=1 test: ASan's allocator (redzones, quarantine) makes
# memory bounds meaningless, so they are loosened; its checks still run.
SANITIZE = os.environ.get("BROKERD_SANITIZE") == "1"


def mem_bound(kib):
    """A bound on memory growth, in KiB (or bytes: the same scaling)."""
    return kib * 4 + 65536 if SANITIZE else kib
USERS = {"engine": "_brokerd", "tlsproxy": "_brokertls",
         "authd": "_brokerauth", "storaged": "_brokerdb"}
CHILDREN = ("engine", "tlsproxy", "authd", "storaged")


class TestFailure(Exception):
    pass


def check(cond, what):
    """Assert with a message that says what was expected."""
    if not cond:
        raise TestFailure(what)


def wait_for(cond, timeout=10.0, what="condition", interval=0.01):
    """Poll `cond' until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure("timed out after %.1fs waiting for %s" %
                              (timeout, what))
        time.sleep(interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def path(*p):
    return os.path.join(TOP, *p)


def binary(name):
    if name in ("brokerd", "brokerctl"):
        return path(BUILD, "sbin", name)
    return path(BUILD, "libexec", "brokerd", name)


def proc_status(pid):
    """The fields of /proc/PID/status as a dict, or None if it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            d = {}
            for line in f:
                k, _, v = line.partition(":")
                d[k] = v.strip()
            return d
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.split(b"\0")[0].decode(errors="replace").strip()


def proc_children(ppid):
    """Pids whose parent is `ppid' (zombies included)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # The command may hold spaces and parentheses: split after ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


def alive(pid):
    st = proc_status(pid)
    return st is not None and not st.get("State", "").startswith("Z")


class Broker:
    """One brokerd with its own directory, ports and sockets."""

    def __init__(self, name="b", listen=None, extra="", user=None,
                 verbose=True, unix=True, chroot=None, anonymous=True):
        self.dir = tempfile.mkdtemp(prefix="brokerd-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "brokerd.conf")
        self.log = os.path.join(self.dir, "brokerd.log")
        self.control = os.path.join(self.dir, "control.sock")
        self.unix_path = os.path.join(self.dir, "mqtt.sock") if unix \
            else None
        self.datadir = os.path.join(self.dir, "data")
        self.chroot = chroot or os.path.join(self.dir, "empty")
        self.user = user
        self.verbose = verbose
        self.extra = extra
        self.listen = listen
        self.anonymous = anonymous
        self.proc = None
        self.write_conf()

    def conf_text(self, extra=None):
        lines = [
            'control socket "%s"' % self.control,
            'datadir "%s"' % self.datadir,
            'chroot "%s"' % self.chroot,
            # $SYS adds retained messages and traffic that most tests do
            # not expect; those about $SYS turn it on.
            "sys interval 0",
        ]
        anon = " allow anonymous" if self.anonymous else ""
        if self.listen is not None:
            lines += self.listen
        else:
            lines.append("listen on 127.0.0.1 port %d%s" % (self.port, anon))
            if self.unix_path:
                lines.append('listen on "%s"%s' % (self.unix_path, anon))
        lines.append(self.extra if extra is None else extra)
        return "\n".join(lines) + "\n"

    def write_conf(self, text=None):
        with open(self.conf, "w") as f:
            f.write(text if text is not None else self.conf_text())
        if self.user:
            shutil.chown(self.dir, user=self.user)
            shutil.chown(self.conf, user=self.user)

    def start(self, wait=True, args=None):
        cmd = [binary("brokerd"), "-d", "-f", self.conf]
        if self.verbose:
            cmd.insert(2, "-v")
        if args:
            cmd += args
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     cwd=self.dir, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    @property
    def pid(self):
        """The pid of brokerd [priv] (runuser is in between as non-root)."""
        if self.user:
            kids = proc_children(self.proc.pid)
            return kids[0] if kids else None
        return self.proc.pid

    def wait_ready(self, timeout=15):
        def ready():
            if self.proc.poll() is not None:
                raise TestFailure("brokerd exited with %s:\n%s" %
                                  (self.proc.returncode, self.logtext()))
            return "brokerd ready" in self.logtext()
        wait_for(ready, timeout, "brokerd ready")

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=10, count=1):
        rx = re.compile(pattern)

        def found():
            return len(rx.findall(self.logtext())) >= count
        wait_for(found, timeout, "log line /%s/ in\n%s" %
                 (pattern, self.logtext()[-3000:]))

    def children(self):
        """{name: pid} of the running children."""
        out = {}
        ppid = self.pid
        if ppid is None:
            return out
        for pid in proc_children(ppid):
            cmd = proc_cmdline(pid)
            if not cmd or not alive(pid):
                continue
            for name in CHILDREN:
                if cmd.startswith(name) or cmd == "brokerd: " + name:
                    out[name] = pid
        return out

    def all_pids(self):
        ppid = self.pid
        return ([ppid] if ppid else []) + proc_children(ppid or -1)

    def ctl(self, *args, check_rc=True, as_user=None, sock=None):
        """brokerctl on the control socket, or on `sock'."""
        cmd = [binary("brokerctl"), "-s", sock or self.control] + list(args)
        if as_user:
            cmd = ["runuser", "-u", as_user, "--"] + cmd
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        if check_rc and r.returncode != 0:
            raise TestFailure("brokerctl %s: exit %d: %s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def stats(self):
        return json.loads(self.ctl("-j", "show", "stats").stdout)

    def stat(self, name):
        return self.stats()[name]

    def wait_stat(self, name, pred, timeout=10, what=None):
        """Until pred(stat `name') holds; a time-out says what the
        counters were, so that a failure can be read from the log."""
        try:
            return wait_for(lambda: pred(self.stat(name)), timeout,
                            what or "stat %s" % name)
        except TestFailure as e:
            raise TestFailure("%s; counters then: %s" % (e, {
                k: v for k, v in self.stats().items() if v})) from None

    def wait_subs(self, n, timeout=10):
        """Until the engine holds `n' subscriptions."""
        self.wait_stat("subscriptions", lambda v: v >= n, timeout,
                       "%d subscriptions" % n)

    def memory(self):
        """(RSS, VSZ) in KiB of all brokerd processes summed."""
        rss = vsz = 0
        for pid in self.all_pids():
            st = proc_status(pid)
            if st and "VmRSS" in st:
                rss += int(st["VmRSS"].split()[0])
                vsz += int(st["VmSize"].split()[0])
        return rss, vsz

    def engine_memory(self):
        st = proc_status(self.children()["engine"])
        return int(st["VmRSS"].split()[0]), int(st["VmSize"].split()[0])

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout=15):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("brokerd did not exit:\n" +
                              self.logtext()[-3000:])

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.signal(signal.SIGTERM)
            except (ProcessLookupError, TypeError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.kill_leftovers()
        self.logf.close()

    def kill_leftovers(self):
        # Everything the test started is in its own session.
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def ensure_users():
    """As root, the children's users must exist; tests create them."""
    if not IS_ROOT:
        return
    subprocess.run(["sh", path("scripts", "users"), "create"], check=True,
                   stdout=subprocess.DEVNULL)


def uid_of(user):
    return pwd.getpwnam(user).pw_uid


CLEANUP = []


class Sub:
    """mosquitto_sub in the background, collecting its output lines."""

    def __init__(self, b, topic, count, qos=0, v5=False, args=(),
                 timeout=20):
        cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(b.port),
               "-t", topic, "-q", str(qos), "-C", str(count),
               "-W", str(timeout)]
        if v5:
            cmd += ["-V", "mqttv5"]
        cmd += list(args)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        CLEANUP.append(self.kill)

    def lines(self, timeout=30):
        out, err = self.p.communicate(timeout=timeout)
        return out.splitlines()

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def pub(b, topic, msg, qos=0, v5=False, args=()):
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.port),
           "-t", topic, "-m", msg, "-q", str(qos)]
    if v5:
        cmd += ["-V", "mqttv5"]
    cmd += list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    check(r.returncode == 0, "mosquitto_pub failed: %s" % r.stderr)
    return r


def broker(**kw):
    """A Broker that is stopped and removed when the test ends."""
    b = Broker(**kw)
    CLEANUP.append(b.cleanup)
    return b


def setup_once():
    """Run once before all tests (in the runner's process): MQTT.js from
    the npm registry, if it is not there yet."""
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isdir(os.path.join(here, "node_modules", "mqtt")):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund",
                        "--loglevel=error"], cwd=here, check=True,
                       timeout=600)


def memory_holds(pid, needle):
    """Whether any readable mapping of process `pid' holds the bytes
    `needle' (as root: /proc/PID/mem of a process that changed its uid
    is readable by root only).  Returns the names of the mappings.
    Mappings of more than 1 GiB are ASan's shadow memory (terabytes,
    reserved, never holding program data); they are not read."""
    found = []
    chunk = 4 << 20
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else "anonymous"
            if "r" not in f[1] or name == "[vvar]" or hi - lo > 1 << 30:
                continue
            tail = b""
            for off in range(lo, hi, chunk):
                try:
                    mem.seek(off)
                    data = mem.read(min(chunk, hi - off))
                except (OSError, ValueError, OverflowError):
                    break
                if needle in tail + data:
                    found.append(name)
                    break
                tail = data[-len(needle):]
    return found
