# brokerctl user, group and acl against a running broker with real
# clients (mosquitto_pub/sub -u -P, paho, raw MQTT for reason codes):
# a change applies to connected clients at once, lands in the files the
# configuration names (so a restart keeps it), and bad input changes
# nothing.

import json
import os
import stat
import subprocess

import mqttraw as raw
from harness import (CLEANUP, IS_ROOT, Sub, binary, broker, check,
                     memory_holds, pub, wait_for)
from pahoclient import Paho

ACL = """\
# Rules of the test broker.
topic read public/#

user alice
topic readwrite alice/#

# The readers.
group readers
member alice
topic read shared/#
"""


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def read(path):
    with open(path) as f:
        return f.read()


def users_broker(acl=ACL, listen_extra=""):
    """A broker whose one TCP listener has a password file with alice
    (made by brokerctl passwd) and an ACL file."""
    b = broker()
    pw = os.path.join(b.dir, "passwd")
    r = subprocess.run([binary("brokerctl"), "passwd", "-c", "-b", pw,
                        "alice", "pencil"], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0, r.stderr)
    af = os.path.join(b.dir, "acl")
    write_private(af, acl)
    b.pw, b.acl = pw, af
    b.listen = ['listen on 127.0.0.1 port %d password file "%s" '
                'acl file "%s"%s' % (b.port, pw, af, listen_extra)]
    b.write_conf()
    return b.start()


def restart(b):
    """Stop b and start it again, with a fresh log (wait_ready reads it)."""
    b.stop()
    os.rename(b.log, b.log + ".old")
    b.start()


def ctl(b, *args, **kw):
    return b.ctl(*args, **kw)


def refused(b, args, code=1, what=""):
    r = ctl(b, *args, check_rc=False)
    check(r.returncode == code, "brokerctl %s: exit %d (not %d): %s%s" % (
        " ".join(args), r.returncode, code, r.stdout, r.stderr))
    if what:
        check(what in r.stderr, "%r in %r" % (what, r.stderr))
    return r


def rawc(b, cid, version=5, user=None, password=None):
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect(cid, version, username=user, password=password))
    p = c.expect(2)
    return c, raw.connack_reason(p)[1]


def can_login(b, user, password, v5=False):
    cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.port),
           "-t", "public/x", "-m", "m", "-u", user, "-P", password]
    if v5:
        cmd += ["-V", "mqttv5"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    return r.returncode == 0


def deliveries(c, version=5, timeout=1):
    """The payloads of the PUBLISH packets c reads until it is quiet."""
    got = []
    while True:
        p = c.read(timeout=timeout)
        if p is None:
            return got
        if p[0] >> 4 == 3:
            got.append(raw.parse_publish(p[0], p[1], version)[1])


def test_user_add_passwd_del():
    b = users_broker()
    st = os.stat(b.pw)
    # Batch (-b) and from the standard input, as a script would.
    r = ctl(b, "user", "add", "-b", "bob", "b0b")
    check("user bob added" in r.stdout and "reloaded" in r.stdout, r.stdout)
    check(can_login(b, "bob", "b0b"), "bob logs in")
    r = subprocess.run([binary("brokerctl"), "-s", b.control, "-j", "us",
                        "a", "carol"], input="c4rol\n", capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    check("carol" in json.loads(r.stdout)["result"], r.stdout)
    check(can_login(b, "carol", "c4rol", v5=True), "carol logs in")
    p = Paho(b.port, "paho-carol", v5=True, username="carol",
             password="c4rol")
    check(p.connack == 0, "paho carol: %s" % p.connack)
    p.close()
    # The file keeps its mode and owner; alice's line is where it was.
    st2 = os.stat(b.pw)
    check(stat.S_IMODE(st2.st_mode) == stat.S_IMODE(st.st_mode) and
          st2.st_uid == st.st_uid, "mode and owner kept")
    lines = read(b.pw).splitlines()
    check([ln.split(":")[0] for ln in lines] == ["alice", "bob", "carol"],
          "order: %r" % lines)
    check(lines[1].startswith("bob:$argon2id$"), "argon2id by default")

    # A new password: the old one fails, the new one works, and bob
    # connected with the old one is out (MQTT 5: 0x87).
    old, rc = rawc(b, "bob-old", 5, "bob", "b0b")
    check(rc == 0, "bob connects")
    ctl(b, "user", "passwd", "-b", "-m", "sha512-pbkdf2", "bob", "n3w")
    first, body = old.expect(14)
    check(body[:1] == b"\x87", "DISCONNECT %r" % body)
    check(not can_login(b, "bob", "b0b"), "the old password fails")
    check(can_login(b, "bob", "n3w"), "the new one works")
    check(read(b.pw).splitlines()[1].startswith("bob:$7$"), "-m")

    # Deleted while connected: disconnected, 0x87; 3.1.1: closed.
    c5, _ = rawc(b, "bob5", 5, "bob", "n3w")
    c4, _ = rawc(b, "bob4", 4, "bob", "n3w")
    r = ctl(b, "user", "del", "bob")
    check("user bob deleted" in r.stdout, r.stdout)
    first, body = c5.expect(14)
    check(body[:1] == b"\x87", "DISCONNECT %r" % body)
    check(c5.closed() and c4.closed(), "bob's connections closed")
    check(not can_login(b, "bob", "n3w"), "bob is gone")
    check("bob" not in read(b.pw), "not in the file")
    b.wait_log(r"password and ACL files read again")


def test_user_errors_leave_file():
    b = users_broker()
    before = read(b.pw)
    refused(b, ["user", "add", "-b", "alice", "x"], 1, "there already")
    refused(b, ["user", "passwd", "-b", "nobody", "x"], 1, "no user nobody")
    refused(b, ["user", "del", "nobody"], 1, "no user nobody")
    refused(b, ["user", "add", "-b", "a:b", "x"], 1, "':'")
    refused(b, ["user", "add", "-b", "dave", ""], 1, "empty password")
    refused(b, ["user", "add", "-b", "-m", "md5", "dave", "x"], 1, "md5")
    refused(b, ["user", "add", "-f", "/etc/passwd", "-b", "dave", "x"], 1,
            "not the password file of any listener")
    refused(b, ["user", "add", "-l", "nosuch", "-b", "dave", "x"], 1,
            "no listener nosuch")
    refused(b, ["user", "add"], 1, "usage")
    check(read(b.pw) == before, "the file is unchanged")
    check(can_login(b, "alice", "pencil"), "alice still logs in")
    # -f and -l that name the file work.
    ctl(b, "user", "add", "-f", b.pw, "-b", "dave", "d")
    lid = json.loads(ctl(b, "-j", "show", "listeners").stdout)[0]
    check(lid["password_file"] == b.pw and lid["acl_file"] == b.acl,
          "show listeners has the files: %r" % lid)
    ctl(b, "user", "del", "-l", lid["name"], "dave")
    ctl(b, "user", "add", "-l", str(lid["id"]), "-b", "dave", "d")


def test_acl_add_del_live():
    b = users_broker()
    ctl(b, "user", "add", "-b", "bob", "b0b")
    ctl(b, "acl", "add", "-u", "bob", "read", "news/weather")
    # bob subscribes to news/#, but may read only news/weather.
    sub, _ = rawc(b, "bob-sub", 5, "bob", "b0b")
    sub.send(raw.subscribe(1, [("news/#", 0)], version=5))
    check(list(sub.expect(9)[1][3:]) == [0], "SUBACK")
    alice, _ = rawc(b, "alice-pub", 5, "alice", "pencil")
    refused(b, ["acl", "add", "-u", "alice", "write", "news/+/x/#/y"], 1,
            "'#' is not the last level")
    r = ctl(b, "acl", "add", "-u", "alice", "write", "news/#")
    check("rule write news/# added for user alice" in r.stdout, r.stdout)
    alice.send(raw.publish("news/1", "before", version=5))
    check(deliveries(sub) == [], "bob may not read news/ yet")
    # A rule added: the connected subscriber starts receiving at once.
    ctl(b, "acl", "add", "-u", "bob", "read", "news/#")
    alice.send(raw.publish("news/2", "after", version=5))
    check(deliveries(sub) == [b"after"], "bob reads news/2")
    # A rule removed: publishing is refused (MQTT 5 PUBACK 0x87).
    ctl(b, "acl", "del", "-u", "alice", "write", "news/#")
    alice.send(raw.publish("news/3", "refused", qos=1, pid=7,
                           version=5))
    first, body = alice.expect(4)
    check(body[2:3] == b"\x87", "PUBACK %r" % body)
    check(deliveries(sub) == [], "nothing delivered")
    # The file: the new rule in bob's block, comments and order kept.
    text = read(b.acl)
    check(text.startswith(ACL.split("# The readers.")[0]),
          "the start is as it was:\n" + text)
    check(text.endswith("\nuser bob\ntopic read news/weather\n"
                        "topic read news/#\n"), text)
    check("# The readers.\ngroup readers\n" in text, text)
    # acl del with no access removes the rule whatever its access.
    ctl(b, "acl", "del", "-u", "bob", "news/#")
    check(read(b.acl).endswith("\nuser bob\ntopic read news/weather\n"),
          "deleted")
    refused(b, ["acl", "del", "-u", "bob", "news/#"], 1, "no rule")
    refused(b, ["acl", "add", "-u", "bob", "all", "x"], 1, "access")
    refused(b, ["acl", "add", "-u", "nobody", "read", "x"], 1,
            "no user nobody")
    # Anonymous rules and patterns go before the first block.
    ctl(b, "acl", "add", "read", "status/#")
    ctl(b, "acl", "add", "-p", "readwrite", "clients/%c/#")
    text = read(b.acl)
    check(text.startswith("# Rules of the test broker.\ntopic read "
                          "public/#\ntopic read status/#\npattern "
                          "readwrite clients/%c/#\n\nuser alice\n"), text)
    refused(b, ["acl", "add", "-p", "read", "a/x%uy"], 1,
            "%u or %c not alone")


def test_groups():
    b = users_broker()
    ctl(b, "user", "add", "-b", "bob", "b0b")
    refused(b, ["acl", "add", "-g", "writers", "write", "shared/#"], 1,
            "no group writers")
    refused(b, ["group", "member", "add", "writers", "bob"], 1,
            "no group writers")
    refused(b, ["group", "add", "readers"], 1, "there already")
    ctl(b, "group", "add", "writers")
    ctl(b, "acl", "add", "-g", "writers", "write", "shared/#")
    ctl(b, "group", "member", "add", "writers", "alice")
    ctl(b, "acl", "add", "-u", "bob", "read", "shared/public")
    # bob reads all of shared/ once a member of readers, at once.
    s = Sub(b, "shared/#", 1, args=["-u", "bob", "-P", "b0b", "-i", "bs"])
    b.wait_subs(1)
    alice, _ = rawc(b, "alice-pub", 5, "alice", "pencil")
    for i, text in enumerate(("not yet", "for readers")):
        if i == 1:
            refused(b, ["group", "member", "add", "readers", "nobody"], 1,
                    "no user nobody")
            ctl(b, "group", "member", "add", "readers", "bob")
            refused(b, ["group", "member", "add", "readers", "bob"], 1,
                    "already")
        alice.send(raw.publish("shared/doc", text, qos=1, pid=1 + i,
                               version=5))
        first, body = alice.expect(4)
        # Success, or 0x10: no subscriber (bob's does not match yet).
        check(len(body) < 3 or body[2] in (0, 0x10), "PUBACK %r" % body)
    check(s.lines() == ["for readers"], "bob got it as a reader")
    text = read(b.acl)
    check("group readers\nmember alice\nmember bob\n" in text, text)
    # member del keeps the line of the other members.
    write_private(b.acl, text.replace("member alice\nmember bob\n",
                                      "member alice bob carol\n"))
    ctl(b, "reload")
    ctl(b, "group", "member", "del", "readers", "bob")
    check("member alice carol\n" in read(b.acl), read(b.acl))
    refused(b, ["group", "member", "del", "readers", "bob"], 1,
            "not a member")
    # group del takes its members and rules, not the comments after it.
    ctl(b, "group", "del", "readers")
    text = read(b.acl)
    check("group readers" not in text and "member alice carol" not in
          text and "topic read shared/#" not in text and
          "topic write shared/#" in text and "# The readers.\n\ngroup "
          "writers\n" in text, text)
    refused(b, ["group", "del", "readers"], 1, "no group readers")


def test_concurrent_edits():
    """Ten brokerctl at once: the lock makes each edit see the last one,
    so none is lost."""
    b = users_broker()
    names = ["u%d" % i for i in range(10)]
    procs = [subprocess.Popen([binary("brokerctl"), "-s", b.control, "user",
                               "add", "-b", "-m", "sha512-pbkdf2", "-i",
                               "1000", n, "pw" + n],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for n in names]
    procs += [subprocess.Popen([binary("brokerctl"), "-s", b.control, "acl",
                                "add", "-u", "alice", "read", "t/%d" % i],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for i in range(10)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, "exit %d: %s" % (p.returncode, err))
    users = [ln.split(":")[0] for ln in read(b.pw).splitlines()]
    check(sorted(users) == sorted(["alice"] + names), "users: %r" % users)
    rules = [ln for ln in read(b.acl).splitlines() if ln.startswith(
        "topic read t/")]
    check(len(rules) == 10, "rules: %r" % rules)
    for n in names[:3]:
        check(can_login(b, n, "pw" + n), n)


def test_survives_restart():
    b = users_broker()
    ctl(b, "user", "add", "-b", "bob", "b0b")
    ctl(b, "user", "passwd", "-b", "alice", "n3w")
    ctl(b, "acl", "add", "-u", "bob", "read", "news/#")
    ctl(b, "group", "add", "writers")
    ctl(b, "group", "member", "add", "writers", "bob")
    ctl(b, "acl", "add", "-g", "writers", "write", "news/#")
    restart(b)
    check(can_login(b, "bob", "b0b"), "bob after a restart")
    check(not can_login(b, "alice", "pencil"), "alice's old password")
    s = Sub(b, "news/#", 1, args=["-u", "bob", "-P", "b0b"])
    b.wait_subs(1)
    pub(b, "news/1", "kept", args=["-u", "bob", "-P", "b0b"])
    check(s.lines() == ["kept"], "the rules after a restart")


def test_bad_input_leaves_files():
    b = users_broker()
    before = (read(b.pw), read(b.acl))
    for args, what in (
            (["acl", "add", "-u", "alice", "read", "a/#/b"], "'#'"),
            (["acl", "add", "-u", "alice", "read", "a+/b"], "'+' or '#'"),
            (["acl", "add", "-u", "alice", "read", "a\nuser x"],
             "control character"),
            (["acl", "add", "-u", "alice", "read", " a"], "blanks"),
            (["acl", "add", "-g", "nosuch", "read", "a"], "no group"),
            (["acl", "del", "-g", "nosuch", "a"], "no group"),
            (["acl", "add", "-u", "alice", "-g", "readers", "read", "a"],
             "usage"),
            (["group", "member", "add", "nosuch", "alice"], "no group"),
            (["group", "member", "add", "readers", "a b"], "space"),
            (["group", "member", "del", "readers", "nobody"],
             "not a member"),
            (["group", "del", "nosuch"], "no group"),
            (["user", "add", "-b", "\x01x", "y"], "control")):
        refused(b, args, 1, what)
    check((read(b.pw), read(b.acl)) == before, "files unchanged")
    # A file changed by hand so that it does not parse: refused, kept.
    write_private(b.acl, before[1] + "nonsense line\n")
    refused(b, ["acl", "add", "read", "x"], 1, "acl:")
    check(read(b.acl) == before[1] + "nonsense line\n", "kept as it was")
    # Another brokerctl holding the lock: this one waits, then gives up.
    write_private(b.acl, before[1])
    holder = subprocess.Popen(["flock", b.acl + ".lock", "sleep", "30"])
    CLEANUP.append(holder.kill)
    wait_for(lambda: os.path.exists(b.acl + ".lock"), 5, "lock file")
    r = subprocess.run([binary("brokerctl"), "-s", b.control, "group",
                        "add", "locked"], capture_output=True, text=True,
                       timeout=30)
    holder.kill()
    check(r.returncode == 1 and "another brokerctl" in r.stderr, r.stderr)
    check(read(b.acl) == before[1], "unchanged under the lock")


def test_not_root_refused():
    if not IS_ROOT:
        return
    b = users_broker()
    before = (read(b.pw), read(b.acl))
    for args in (["user", "add", "-b", "eve", "x"], ["user", "del", "alice"],
                 ["group", "add", "eve"], ["acl", "add", "read", "#"]):
        r = ctl(b, *args, as_user="nobody", check_rc=False)
        check(r.returncode == 3 and "permission denied" in r.stderr,
              "%s as nobody: %d %s" % (args, r.returncode, r.stderr))
    check((read(b.pw), read(b.acl)) == before, "files unchanged")
    # The monitor socket is read-only: refused before any file is read.
    mon = os.path.join(b.dir, "mon.sock")
    b.extra = 'monitor socket "%s"' % mon
    b.write_conf()
    restart(b)
    r = ctl(b, "user", "add", "-b", "eve", "x", sock=mon, check_rc=False)
    check(r.returncode == 3 and "permission denied" in r.stderr, r.stderr)
    check(read(b.pw) == before[0], "unchanged")
    # brokerd not running: exit 2, nothing written.
    b.stop()
    r = ctl(b, "user", "add", "-b", "eve", "x", check_rc=False)
    check(r.returncode == 2 and "not running" in r.stderr, r.stderr)
    check(read(b.pw) == before[0], "unchanged")


def test_no_hash_in_engine():
    """The engine, which serves the control socket, passes paths, never
    a hash: after user add and a login, it holds none of the new one."""
    if not IS_ROOT:
        return
    b = users_broker()
    ctl(b, "user", "add", "-b", "bob", "b0b")
    check(can_login(b, "bob", "b0b"), "bob logs in")
    line = [ln for ln in read(b.pw).splitlines() if ln.startswith("bob:")][0]
    h = line.split(":", 1)[1]
    engine = b.children()["engine"]
    for needle in (h.encode(), h.rsplit("$", 1)[1].encode()):
        where = memory_holds(engine, needle)
        check(not where, "%r in the engine's %s" % (needle, where))
    check(memory_holds(os.getpid(), h.encode()), "the scan finds a copy")
