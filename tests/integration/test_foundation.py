# The privilege-separated process graph: confinement, supervision,
# configuration errors and reload, the control socket.

import json
import os
import signal
import socket
import stat
import subprocess

from harness import (CHILDREN, IS_ROOT, USERS, TestFailure, alive, binary,
                     broker, check, proc_children, proc_status, uid_of,
                     wait_for)


def expect_stopped(b, code=None):
    """The whole service is gone: no process, no socket file left."""
    rc = b.wait_exit()
    if code is not None:
        check(rc == code, "brokerd exit status %s, expected %s" % (rc, code))
    pids = proc_children(b.proc.pid)
    wait_for(lambda: not any(alive(p) for p in pids), 10,
             "children of brokerd to be gone")
    check(not os.path.exists(b.control),
          "control socket %s left behind" % b.control)
    if b.unix_path:
        check(not os.path.exists(b.unix_path),
              "UNIX listener %s left behind" % b.unix_path)
    return rc


def test_five_processes_confined():
    b = broker().start()
    kids = wait_for(lambda: len(b.children()) == 4 and b.children(), 10,
                    "four children")
    check(sorted(kids) == sorted(CHILDREN), "children %s" % sorted(kids))
    # Exactly five processes: the parent and its four children.
    check(len([p for p in proc_children(b.pid) if alive(p)]) == 4,
          "the parent has exactly four children")
    st = proc_status(b.pid)
    check(st["Uid"].split()[0] == str(os.geteuid()), "parent uid")
    uids = set()
    for name, pid in kids.items():
        st = proc_status(pid)
        check(st["NoNewPrivs"] == "1", "%s: NoNewPrivs %s" %
              (name, st["NoNewPrivs"]))
        check(st["Seccomp"] == "2", "%s: Seccomp %s" % (name, st["Seccomp"]))
        root = os.readlink("/proc/%d/root" % pid)
        real, eff, saved, fs = (int(x) for x in st["Uid"].split())
        if IS_ROOT:
            want = uid_of(USERS[name])
            check(real == eff == saved == fs == want,
                  "%s runs as uid %s, expected %s (%s)" %
                  (name, st["Uid"], want, USERS[name]))
            check(st["Groups"].split() == [str(int(st["Gid"].split()[0]))],
                  "%s: supplementary groups %s" % (name, st["Groups"]))
            want_root = b.datadir if name == "storaged" else b.chroot
            check(root == want_root, "%s: root %s, expected %s" %
                  (name, root, want_root))
            uids.add(real)
        else:
            check(real == os.getuid(), "%s uid" % name)
            check(root == "/", "%s root %s" % (name, root))
    if IS_ROOT:
        check(len(uids) == 4, "each child has its own uid: %s" % uids)
        check(0 not in uids, "no child runs as root")
    # Process titles.
    with open("/proc/%d/cmdline" % b.pid, "rb") as f:
        check(f.read().startswith(b"brokerd: [priv]"), "parent title")
    with open("/proc/%d/cmdline" % kids["engine"], "rb") as f:
        check(f.read().startswith(b"brokerd: engine"), "engine title")


def test_nonroot_mode():
    """Started by a normal user: same graph, no chroot, filters loaded."""
    if not IS_ROOT:
        b = broker().start()
        user_uid = os.getuid()
    else:
        b = broker(user="nobody").start()
        user_uid = uid_of("nobody")
    b.wait_log("not running as root")
    kids = wait_for(lambda: len(b.children()) == 4 and b.children(), 10,
                    "four children")
    for name, pid in kids.items():
        st = proc_status(pid)
        check(int(st["Uid"].split()[0]) == user_uid, "%s uid" % name)
        check(os.readlink("/proc/%d/root" % pid) == "/", "%s root" % name)
        check(st["Seccomp"] == "2" and st["NoNewPrivs"] == "1",
              "%s filter loaded" % name)
    # The user who started brokerd may use the control socket.
    r = b.ctl("show", "stats", as_user="nobody" if IS_ROOT else None)
    check("uptime" in r.stdout, "brokerctl as the owner: %s" % r.stdout)
    check(b.proc.poll() is None and len(b.children()) == 4,
          "brokerd still runs:\n" + b.logtext())


def inject_socket_call(pid):
    """Make process `pid' call socket(2) by attaching gdb to it."""
    subprocess.run(["gdb", "-q", "-p", str(pid), "-batch", "-ex",
                    "call (int)socket(2, 1, 0)"], capture_output=True,
                   timeout=60)


def test_forbidden_syscall_stops_service():
    """No child may create a socket: each one dies of SIGSYS, and the
    parent stops the service naming the process and the signal."""
    for name in CHILDREN:
        b = broker(name=name).start()
        pid = b.children()[name]
        inject_socket_call(pid)
        expect_stopped(b, 1)
        b.wait_log(r"%s \(pid %d\) terminated by signal SIGSYS" %
                   (name, pid))
        b.cleanup()


def test_kill9_each_child_stops_service():
    for name in CHILDREN:
        b = broker(name=name).start()
        pid = b.children()[name]
        os.kill(pid, signal.SIGKILL)
        expect_stopped(b, 1)
        b.wait_log(r"%s \(pid %d\) terminated by signal SIGKILL" %
                   (name, pid))
        b.cleanup()


def test_sigterm_stops_cleanly():
    b = broker().start()
    pids = list(b.children().values())
    b.signal(signal.SIGTERM)
    expect_stopped(b, 0)
    check(not any(alive(p) for p in pids), "children stopped")
    b.wait_log("received SIGTERM, stopping")
    check("terminated by signal" not in b.logtext(),
          "no child died of a signal on SIGTERM:\n" + b.logtext())


def test_parent_killed_children_exit():
    """If the parent dies, no child is left running as an orphan."""
    b = broker().start()
    pids = list(b.children().values())
    os.kill(b.pid, signal.SIGKILL)
    wait_for(lambda: not any(alive(p) for p in pids), 10,
             "children to exit after the parent was killed")


def test_bad_config_refuses_to_start():
    b = broker()
    b.write_conf(b.conf_text() + "listen on 127.0.0.1 port 99999\n"
                 "nonsense here\n")
    b.start(wait=False)
    rc = b.wait_exit()
    check(rc == 1, "exit status %s" % rc)
    n = len(open(b.conf).read().splitlines())
    text = b.logtext()
    check("%s:%d: port 99999 out of range" % (b.conf, n - 1) in text,
          "file:line of the bad port in:\n" + text)
    check('%s:%d: unknown setting "nonsense here"' % (b.conf, n) in text,
          "file:line of the unknown setting in:\n" + text)
    check(not os.path.exists(b.control), "no control socket")


def test_config_check_flags():
    b = broker()
    r = subprocess.run([binary("brokerd"), "-n", "-f", b.conf],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "configuration OK" in r.stderr,
          "-n: %s %s" % (r.returncode, r.stderr))
    r = subprocess.run([binary("brokerd"), "-nv", "-f", b.conf],
                       capture_output=True, text=True)
    check(r.returncode == 0 and
          "listen on 127.0.0.1 port %d" % b.port in r.stdout,
          "-nv prints the configuration: %s" % r.stdout)
    r = subprocess.run([binary("brokerd"), "-n", "-f",
                        os.path.join(b.dir, "missing.conf")],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "missing.conf" in r.stderr,
          "missing file: %s %s" % (r.returncode, r.stderr))
    # (A regular file: 668fe33 refuses devices and FIFOs, stdin too.)
    macro = os.path.join(b.dir, "macro.conf")
    with open(macro, "w") as f:
        f.write("listen on ::1 port $p\n")
    r = subprocess.run([binary("brokerd"), "-n", "-D", "p=1884", "-f",
                        macro], capture_output=True, text=True)
    check(r.returncode == 0, "-D macro: %s" % r.stderr)


def test_sighup_with_bad_config_keeps_running():
    b = broker().start()
    pids = b.children()
    good = b.conf_text()
    b.write_conf(good + "listen on not-an-address\n")
    n = len((good + "x\n").splitlines())
    b.signal(signal.SIGHUP)
    b.wait_log(r"%s:%d: \"not-an-address\" is not an IPv4 or IPv6 address"
               % (b.conf, n))
    b.wait_log("reload failed; keeping the running configuration")
    check(b.children() == pids, "the children are the same processes")
    check(b.proc.poll() is None, "brokerd still runs")
    # The service still answers, on the same sockets.
    b.stats()
    s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
    s.close()
    # A good file is taken, and its log level applied.
    b.write_conf(b.conf_text(extra="log level warning"))
    b.signal(signal.SIGHUP)
    b.wait_log("configuration reloaded")


def test_brokerctl():
    b = broker().start()
    r = b.ctl("show", "stats")
    check("uptime" in r.stdout, "show stats: %s" % r.stdout)
    r = b.ctl("sh", "st")
    check("control.connections" in r.stdout, "prefixes: %s" % r.stdout)
    d = b.stats()
    check(isinstance(d, dict) and d["control.connections"] >= 3,
          "JSON stats: %s" % d)
    r = b.ctl("reload")
    check("configuration reloaded" in r.stdout, "reload: %s" % r.stdout)
    b.write_conf(b.conf_text(extra="bad"))
    r = b.ctl("reload", check_rc=False)
    check(r.returncode == 1 and "has errors" in r.stderr,
          "failed reload: %d %s" % (r.returncode, r.stderr))
    r = b.ctl("show", "nothing", check_rc=False)
    check(r.returncode == 1 and "usage" in r.stderr, "unknown command")
    r = b.ctl("s", check_rc=False)
    check(r.returncode == 1, "incomplete command")
    mode = stat.S_IMODE(os.stat(b.control).st_mode)
    check(mode == 0o600, "control socket mode %o" % mode)
    if IS_ROOT:
        # The socket file is root's; getpeereid() would refuse anyway.
        r = b.ctl("show", "stats", check_rc=False, as_user="nobody")
        check(r.returncode == 3, "a normal user is refused (exit 3)")


def test_control_garbage_is_not_fatal():
    """A control client that breaks the protocol is disconnected."""
    b = broker().start()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(b.control)
    s.sendall(b"\xff" * 64)
    s.settimeout(5)
    check(s.recv(100) == b"", "the engine closes the connection")
    s.close()
    b.stats()
    check(b.proc.poll() is None, "brokerd still runs")


def test_stale_socket_replaced_live_one_refused():
    b = broker().start()
    os.kill(b.pid, signal.SIGKILL)
    b.wait_exit()
    wait_for(lambda: not any(alive(p) for p in proc_children(b.proc.pid)),
             10, "children gone")
    check(os.path.exists(b.control), "killed brokerd left its socket")
    b2 = broker()
    b2.control = b.control
    b2.write_conf()
    b2.start()
    b2.stats()
    # A second brokerd on the same control socket is refused.
    b3 = broker()
    b3.control = b.control
    b3.write_conf()
    b3.start(wait=False)
    check(b3.wait_exit() == 1, "second brokerd refused")
    check("in use by another server" in b3.logtext(), b3.logtext())
    b2.stats()


def test_busy_port_refuses_to_start():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    b = broker()
    b.port = s.getsockname()[1]
    b.write_conf()
    b.start(wait=False)
    check(b.wait_exit() == 1, "exit status 1")
    check("cannot listen on 127.0.0.1 port %d" % b.port in b.logtext(),
          b.logtext())
    check(proc_children(b.proc.pid) == [], "no child was started")
    s.close()


def test_children_hold_no_listeners():
    """Only the engine holds the MQTT listeners and the control socket."""
    b = broker().start()
    kids = b.children()
    for name, pid in kids.items():
        listening = 0
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:"):
                inode = target[8:-1]
                if is_listening(inode):
                    listening += 1
        if name == "engine":
            check(listening == 3, "engine holds %d listening sockets"
                  % listening)
        else:
            check(listening == 0, "%s holds %d listening sockets" %
                  (name, listening))


def is_listening(inode):
    for tbl in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(tbl) as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if parts[9] == inode and parts[3] == "0A":
                    return True
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            # Flags 00010000: __SO_ACCEPTCON, a listening socket.
            if parts[6] == inode and parts[3] == "00010000":
                return True
    return False


def make(args, cwd):
    """Run make for a test: without the flags of the make running the
    tests, with this run's own SANITIZE."""
    import harness
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    if harness.SANITIZE:
        args = args + ["SANITIZE=1"]
    return subprocess.run(["make", "-s", "-j2"] + args, cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_sandbox_debug_build_names_the_syscall():
    """make SANDBOX_DEBUG=1: a forbidden call is logged by name, then the
    process dies of SIGSYS as it would have."""
    import harness
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    build = os.path.join(harness.BUILD, "sandbox-debug")
    r = make(["BUILD=" + build, "SANDBOX_DEBUG=1", "all"], top)
    check(r.returncode == 0, "debug build: %s" % r.stderr[-2000:])
    saved = harness.BUILD
    harness.BUILD = build
    try:
        b = broker().start()
        pid = b.children()["authd"]
        inject_socket_call(pid)
        expect_stopped(b, 1)
    finally:
        harness.BUILD = saved
    b.wait_log(r"authd: forbidden system call \d+ \(socket\)")
    b.wait_log(r"authd \(pid %d\) terminated by signal SIGSYS" % pid)


# It builds the whole tree again (with ASan in the sanitizer pass).
test_sandbox_debug_build_names_the_syscall.timeout = 600


def test_make_install_and_run_installed():
    """make install DESTDIR=... lays out sbin/, libexec/brokerd/, the
    manual pages and the examples, and the installed brokerd finds its
    children beside it."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    import tempfile
    dest = tempfile.mkdtemp(prefix="brokerd-install-")
    try:
        import harness
        r = make(["install", "DESTDIR=" + dest, "PREFIX=/usr/local",
                  "BUILD=" + harness.BUILD], top)
        check(r.returncode == 0, "make install: %s" % r.stderr[-2000:])
        pre = os.path.join(dest, "usr", "local")
        for f in ("sbin/brokerd", "sbin/brokerctl",
                  "libexec/brokerd/authd", "libexec/brokerd/storaged",
                  "libexec/brokerd/tlsproxy", "share/man/man8/brokerd.8",
                  "share/man/man8/brokerctl.8",
                  "share/man/man5/brokerd.conf.5",
                  "etc/examples/brokerd.conf",
                  "lib/sysusers.d/brokerd.conf"):
            check(os.path.isfile(os.path.join(pre, f)), "installed %s" % f)
        b = broker()
        cmd = [os.path.join(pre, "sbin", "brokerd"), "-d", "-f", b.conf]
        b.logf = open(b.log, "ab")
        b.proc = subprocess.Popen(cmd, stdout=b.logf, stderr=b.logf,
                                  cwd=b.dir, start_new_session=True)
        b.wait_ready()
        kids = b.children()
        check(sorted(kids) == sorted(CHILDREN), "children %s" % kids)
        exe = os.readlink("/proc/%d/exe" % kids["authd"])
        check(exe == os.path.join(pre, "libexec", "brokerd", "authd"),
              "authd from the installed tree: %s" % exe)
    finally:
        import shutil
        shutil.rmtree(dest, ignore_errors=True)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_stop_and_continue_each_child():
    """Issue 9: kill -STOP of a child stopped the service (SIGCHLD
    without SA_NOCLDSTOP), and a call restarted after SIGCONT
    (restart_syscall) was outside the seccomp lists.  A stopped child
    is only late."""
    b = broker().start()
    for name in CHILDREN:
        pid = b.children()[name]
        os.kill(pid, signal.SIGSTOP)
        wait_for(lambda: proc_state(pid) == "T", 10, name + " stopped")
        # What the parent does with the SIGCHLD takes a turn.
        subprocess.run(["sleep", "0.3"])
        os.kill(pid, signal.SIGCONT)
        wait_for(lambda: proc_state(pid) != "T", 10, name + " running")
        check(b.proc.poll() is None, "brokerd runs after %s stopped:\n%s"
              % (name, b.logtext()[-2000:]))
        r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                            str(b.port), "-t", "t", "-m", "x", "-q", "1"],
                           capture_output=True, timeout=20)
        check(r.returncode == 0, "served after %s continued" % name)
    check(b.proc.poll() is None, "brokerd still runs")
    check(set(b.children()) == set(CHILDREN), "every child still there")
