# Passwords and ACLs with real clients: Mosquitto's files as they are
# (mosquitto_passwd's $7$, brokerctl passwd's argon2id, acl_file with a
# group), mosquitto_pub/sub -u -P, paho-mqtt, and raw MQTT for the exact
# reason codes; the checks on the files; reloads.

import os
import subprocess

import mqttraw as raw
from harness import (CLEANUP, IS_ROOT, Sub, binary, broker, check,
                     memory_holds, pub, wait_for)
from pahoclient import Paho

ACL = """\
# anonymous clients: nothing but public/
topic read public/#

user alice
topic readwrite alice/#
topic read public/#

user bob
topic write public/#
topic write alice/inbox

user admin
topic readwrite #
topic readwrite $SYS/#

pattern readwrite clients/%c/#
pattern read users/%u/#

group readers
member alice bob
topic read shared/#
"""

USERS = {"alice": "pencil", "bob": "b:b b", "admin": "s3cret"}


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def passwd_file(d):
    """alice and bob by mosquitto_passwd ($7$), admin by brokerctl."""
    f = os.path.join(d, "passwd")
    for i, u in enumerate(("alice", "bob")):
        r = subprocess.run(["mosquitto_passwd"] + (["-c"] if i == 0 else [])
                           + ["-b", f, u, USERS[u]], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "mosquitto_passwd: %s" % r.stderr)
    os.chmod(f, 0o600)
    r = subprocess.run([binary("brokerctl"), "passwd", "-b", f, "admin",
                        USERS["admin"]], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0, "brokerctl passwd: %s" % r.stderr)
    return f


def auth_broker(acl=ACL, anonymous=False, **kw):
    b = broker(**kw)
    pw = passwd_file(b.dir)
    opts = ' password file "%s"' % pw
    if acl is not None:
        af = os.path.join(b.dir, "acl")
        write_private(af, acl)
        opts += ' acl file "%s"' % af
    if anonymous:
        opts += " allow anonymous"
    b.listen = ["listen on 127.0.0.1 port %d%s" % (b.port, opts)]
    b.write_conf()
    return b


def rawc(b, cid, version=4, user=None, password=None, will=None):
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect(cid, version, username=user, password=password,
                       will=will))
    p = c.expect(2)
    return c, raw.connack_reason(p)[1]


def test_passwords_mosquitto_clients():
    b = auth_broker(acl=None).start()
    for u, pw in USERS.items():
        pub(b, "t", "m", args=["-u", u, "-P", pw])
        pub(b, "t", "m", v5=True, args=["-u", u, "-P", pw])
    for args in (["-u", "alice", "-P", "pencim"], ["-u", "alice"],
                 ["-u", "carol", "-P", "x"], []):
        r = subprocess.run(["mosquitto_pub", "-p", str(b.port), "-t", "t",
                            "-m", "m"] + args, capture_output=True,
                           text=True, timeout=20)
        check(r.returncode != 0, "refused: %s" % args)
    # The exact codes: bad user name or password, not authorised.
    _, rc = rawc(b, "x1", 4, "alice", "pencim")
    check(rc == 4, "3.1.1 wrong password: %d" % rc)
    _, rc = rawc(b, "x2", 5, "alice", "pencim")
    check(rc == 0x86, "5 wrong password: %#x" % rc)
    _, rc = rawc(b, "x3", 5)
    check(rc == 0x86, "5 no user name: %#x" % rc)
    _, rc = rawc(b, "x4", 4, "admin", USERS["admin"])
    check(rc == 0, "argon2id user: %d" % rc)
    wait_for(lambda: b.stat("auth.denied") == 7, 10, "7 refusals")


def test_password_file_paho():
    b = auth_broker(acl=None, anonymous=True).start()
    for v5 in (False, True):
        c = Paho(b.port, "paho%d" % v5, v5=v5, username="bob",
                 password=USERS["bob"])
        check(c.connack == 0, "paho bob: %s" % c.connack)
        c.close()
        c = Paho(b.port, "anon%d" % v5, v5=v5)
        check(c.connack == 0, "paho anonymous: %s" % c.connack)
        c.close()
    _, rc = rawc(b, "x", 4, "bob", "nope")
    check(rc == 4, "a wrong password with allow anonymous: %d" % rc)


def test_acl_publish_subscribe_deliver():
    b = auth_broker().start()
    a, rc = rawc(b, "a1", 5, "alice", USERS["alice"])
    check(rc == 0, "alice: %#x" % rc)
    # A wildcard subscription, a forbidden one, a shared one.
    a.send(raw.subscribe(1, [("#", 1), ("secret/#", 1), ("$SYS/#", 0),
                             ("$share/g/shared/+", 0)], version=5))
    _, body = a.expect(9)
    check(list(body[3:]) == [1, 0x87, 0x87, 0], "SUBACK %r" % body)
    a3, rc = rawc(b, "a3", 4, "alice", USERS["alice"])
    a3.send(raw.subscribe(1, [("secret/x", 0), ("alice/+", 0)]))
    _, body = a3.expect(9)
    check(list(body[2:]) == [0x80, 0], "3.1.1 SUBACK %r" % body)

    adm, _ = rawc(b, "adm", 5, "admin", USERS["admin"])
    bob, _ = rawc(b, "bob", 5, "bob", USERS["bob"])
    bob4, _ = rawc(b, "bob4", 4, "bob", USERS["bob"])
    # bob may write public/ but not alice/x: MQTT 5 is told 0x87, 3.1.1
    # gets a PUBACK and the message goes nowhere.
    bob.send(raw.publish("public/news", "p1", qos=1, pid=5, version=5))
    _, body = bob.expect(4)
    check(body[:2] == b"\x00\x05" and (len(body) == 2 or body[2] < 0x80),
          "PUBACK %r" % body)
    bob.send(raw.publish("alice/x", "no", qos=1, pid=6, version=5))
    _, body = bob.expect(4)
    check(body == b"\x00\x06\x87", "PUBACK 0x87: %r" % body)
    bob4.send(raw.publish("alice/x", "no", qos=1, pid=7))
    _, body = bob4.expect(4)
    check(body == b"\x00\x07", "3.1.1 PUBACK: %r" % body)
    bob4.send(raw.publish("alice/y", "no", qos=2, pid=8))
    bob4.expect(5)
    bob4.send(raw.ack("pubrel", 8))
    bob4.expect(7)
    # admin may write anywhere: alice's "#" must not see secret/.
    adm.send(raw.publish("secret/plans", "s", qos=0, version=5))
    adm.send(raw.publish("shared/x", "sh", qos=0, version=5))
    adm.send(raw.publish("alice/inbox", "hello", qos=0, version=5))
    # shared/x twice: by "#" and by the shared subscription.
    got = []
    for _ in range(4):
        first, body = a.expect(3)
        got.append(raw.parse_publish(first, body, 5)[:2])
    check(sorted(got) == [("alice/inbox", b"hello"), ("public/news", b"p1"),
                          ("shared/x", b"sh"), ("shared/x", b"sh")],
          "alice got %r" % got)
    check(a.read(timeout=0.5) is None, "and nothing more")
    wait_for(lambda: b.stat("acl.publish_denied") == 3, 10, "3 denied")
    check(b.stat("acl.subscribe_denied") == 3, "3 filters refused")
    check(b.stat("acl.read_denied") >= 1, "secret/plans not delivered")


def test_acl_retained_and_will():
    b = auth_broker().start()
    adm, _ = rawc(b, "adm", 4, "admin", USERS["admin"])
    adm.send(raw.publish("secret/r", "kept", qos=1, pid=1, retain=True))
    adm.expect(4)
    adm.send(raw.publish("public/r", "open", qos=1, pid=2, retain=True))
    adm.expect(4)
    # Retained messages under a wildcard: only what alice may read.
    s = Sub(b, "#", 1, args=["-u", "alice", "-P", USERS["alice"], "-v"])
    check(s.lines() == ["public/r open"], "retained for alice")
    check(b.stat("acl.read_denied") >= 1, "secret/r not sent")
    # Anonymous clients may not connect here.
    _, rc = rawc(b, "anon", 4)
    check(rc == 4, "anonymous: %d" % rc)
    # bob's will to alice/ (not his to write) is not published; his will
    # to public/ is.
    a, _ = rawc(b, "a1", 4, "alice", USERS["alice"])
    a.send(raw.subscribe(1, [("alice/#", 0), ("public/will", 0)]))
    a.expect(9)
    w1, _ = rawc(b, "w1", 4, "bob", USERS["bob"],
                 will=("alice/will", "nope", 0, False))
    w2, _ = rawc(b, "w2", 4, "bob", USERS["bob"],
                 will=("public/will", "bye", 0, False))
    w1.close()
    w2.close()
    first, body = a.expect(3)
    check(raw.parse_publish(first, body)[:2] == ("public/will", b"bye"),
          "the allowed will: %r" % body)
    wait_for(lambda: b.stat("acl.will_denied") == 1, 10, "a will denied")
    check(a.read(timeout=0.5) is None, "not the other")


def test_acl_patterns_and_names():
    """%c and %u fill whole levels; + # / in names widen nothing."""
    b = auth_broker(anonymous=True).start()
    ok, _ = rawc(b, "dev1", 5, "alice", USERS["alice"])
    ok.send(raw.publish("clients/dev1/t", "x", qos=1, pid=1, version=5))
    _, body = ok.expect(4)
    check(len(body) == 2 or body[2] < 0x80, "own client id: %r" % body)
    ok.send(raw.publish("clients/dev2/t", "x", qos=1, pid=2, version=5))
    _, body = ok.expect(4)
    check(body[2:] == b"\x87", "another client id: %r" % body)
    for cid in ("+", "#", "dev1/x"):
        c, rc = rawc(b, cid, 5)
        check(rc == 0, "anonymous %s: %#x" % (cid, rc))
        c.send(raw.subscribe(1, [("clients/+/t", 0), ("clients/#", 0)],
                             version=5))
        _, body = c.expect(9)
        check(list(body[3:]) == [0x87, 0x87], "%s SUBACK %r" % (cid, body))
    # An empty client id: the one assigned fills %c.
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    c.send(raw.connect("", 5))
    first, body = c.expect(2)
    check(body[1] == 0, "assigned id %r" % body)
    i = body.find(b"\x12")
    n = int.from_bytes(body[i + 1:i + 3], "big")
    cid = body[i + 3:i + 3 + n].decode()
    c.send(raw.publish("clients/%s/x" % cid, "x", qos=1, pid=1, version=5))
    _, body = c.expect(4)
    check(len(body) == 2 or body[2] < 0x80, "assigned %s: %r" % (cid, body))


def test_empty_acl_denies_everything():
    """CVE-2018-12550: a file of comments is no ACL-less broker."""
    b = auth_broker(acl="# nothing here\n\n", anonymous=True).start()
    c, _ = rawc(b, "c", 5, "admin", USERS["admin"])
    c.send(raw.subscribe(1, [("#", 0)], version=5))
    _, body = c.expect(9)
    check(list(body[3:]) == [0x87], "SUBACK %r" % body)
    c.send(raw.publish("a", "x", qos=1, pid=2, version=5))
    _, body = c.expect(4)
    check(body[2:] == b"\x87", "PUBACK %r" % body)


def test_files_checked_before_start():
    b = broker()
    pw = passwd_file(b.dir)
    base = "listen on 127.0.0.1 port %d password file \"%s\"" % (b.port, pw)

    def nv(extra=""):
        b.listen = [base + extra]
        b.write_conf()
        return subprocess.run([binary("brokerd"), "-n", "-f", b.conf],
                              capture_output=True, text=True, timeout=30)

    r = nv()
    check(r.returncode == 0, "good: %s" % r.stderr)
    os.chmod(pw, 0o640)
    r = nv()
    check(r.returncode == 1 and "group or others" in r.stderr,
          "group-readable: %s" % r.stderr)
    os.chmod(pw, 0o600)
    with open(pw, "a") as f:
        f.write("carol\n")
    r = nv()
    check(r.returncode == 1 and "%s:4: no ':'" % pw in r.stderr,
          "bad line: %s" % r.stderr)
    af = os.path.join(b.dir, "acl")
    write_private(af, "topic read a\nuser\n")
    with open(pw) as f:
        good = f.read().replace("carol\n", "")
    write_private(pw, good)
    r = nv(' acl file "%s"' % af)
    check(r.returncode == 1 and "%s:2: no user name" % af in r.stderr,
          "bad ACL: %s" % r.stderr)
    r = nv(' acl file "%s"' % os.path.join(b.dir, "none"))
    check(r.returncode == 1 and "No such file" in r.stderr,
          "missing: %s" % r.stderr)
    # And brokerd itself does not start.
    b.start(wait=False)
    wait_for(lambda: b.proc.poll() is not None, 20, "brokerd to exit")
    check(b.proc.returncode == 1, "exit %s" % b.proc.returncode)


def test_reload_files():
    b = auth_broker().start()
    _, rc = rawc(b, "c1", 4, "alice", USERS["alice"])
    check(rc == 0, "alice")
    pw = os.path.join(b.dir, "passwd")
    with open(pw) as f:
        good = f.read()
    # A bad file at a reload: the running one stays.
    write_private(pw, good + "broken line\n")
    b.ctl("reload", check_rc=False)
    b.wait_log(r"passwd:4: no ':'")
    _, rc = rawc(b, "c2", 4, "alice", USERS["alice"])
    check(rc == 0, "alice still")
    # A good one: alice gone, carol there, for new connections.
    r = subprocess.run([binary("brokerctl"), "passwd", "-b", pw, "carol",
                        "c"], capture_output=True, text=True, timeout=30)
    check(r.returncode != 0, "brokerctl refuses the broken file")
    write_private(pw, good)
    r = subprocess.run([binary("brokerctl"), "passwd", "-b", pw, "carol",
                        "c"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    r = subprocess.run([binary("brokerctl"), "passwd", "-D", pw, "alice"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    b.ctl("reload")
    wait_for(lambda: rawc(b, "c3", 4, "carol", "c")[1] == 0, 10, "carol")
    _, rc = rawc(b, "c4", 4, "alice", USERS["alice"])
    check(rc == 4, "alice removed: %d" % rc)


def test_no_hash_in_engine_memory():
    """The engine never holds a password hash (nor the password)."""
    if not IS_ROOT:
        raise Exception("needs root to read the engine's memory")
    b = auth_broker().start()
    c, rc = rawc(b, "c1", 4, "alice", USERS["alice"])
    check(rc == 0, "alice")
    with open(os.path.join(b.dir, "passwd")) as f:
        hashes = [ln.split(":", 1)[1].strip() for ln in f if ":" in ln]
    engine = b.children()["engine"]
    for h in hashes:
        # The encoded hash, and the base64 of its last field.
        for needle in (h.encode(), h.rsplit("$", 1)[1].encode()[:40]):
            where = memory_holds(engine, needle)
            check(not where, "%r in the engine's %s" % (needle, where))
    # The scan is no false negative: it finds a copy that is there.
    check(memory_holds(os.getpid(), hashes[0].encode()),
          "the scan finds a known copy")


def test_reload_pushes_rights():
    """A reload reaches connected clients: new ACLs at once, and those
    whose credentials are gone are disconnected (MQTT 5: 0x87)."""
    b = auth_broker().start()
    a, _ = rawc(b, "a1", 5, "alice", USERS["alice"])
    a.send(raw.subscribe(1, [("public/#", 0)], version=5))
    a.expect(9)
    bob5, _ = rawc(b, "b5", 5, "bob", USERS["bob"])
    bob4, _ = rawc(b, "b4", 4, "bob", USERS["bob"])
    adm, _ = rawc(b, "adm", 5, "admin", USERS["admin"])
    adm.send(raw.publish("public/1", "before", version=5))
    first, body = a.expect(3)
    check(raw.parse_publish(first, body, 5)[1] == b"before", "before")

    # alice loses public/ and gains secret/; bob leaves the file.
    write_private(os.path.join(b.dir, "acl"), ACL.replace(
        "user alice\ntopic readwrite alice/#\ntopic read public/#\n",
        "user alice\ntopic readwrite alice/#\ntopic read secret/#\n"))
    pw = os.path.join(b.dir, "passwd")
    r = subprocess.run([binary("brokerctl"), "passwd", "-D", pw, "bob"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, r.stderr)
    b.ctl("reload")
    # bob goes: DISCONNECT 0x87 for MQTT 5, closed for 3.1.1.
    first, body = bob5.expect(14)
    check(body[:1] == b"\x87", "DISCONNECT %r" % body)
    check(bob5.closed(), "bob (5) closed")
    check(bob4.closed(), "bob (3.1.1) closed")
    wait_for(lambda: b.stat("auth.revoked") == 2, 10, "2 revoked")
    # alice's subscription stays but brings nothing she may not read.
    adm.send(raw.publish("public/2", "after", version=5))
    adm.send(raw.publish("secret/x", "now yours", version=5))
    a.send(raw.subscribe(2, [("secret/#", 0)], version=5))
    got = []
    while True:
        p = a.read(timeout=1)
        if p is None:
            break
        if p[0] >> 4 == 3:
            got.append(raw.parse_publish(p[0], p[1], 5)[1])
        elif p[0] >> 4 == 9:
            check(list(p[1][3:]) == [0], "SUBACK %r" % p[1])
    check(b"after" not in got, "public/2 not delivered: %r" % got)
    adm.send(raw.publish("secret/y", "yes", version=5))
    first, body = a.expect(3)
    check(raw.parse_publish(first, body, 5)[1] == b"yes", "secret/y")
    # And alice is still connected.
    a.send(raw.PINGREQ)
    a.expect(13)


def test_verified_passwords_cached():
    """A client that reconnects costs no second KDF; a wrong password is
    never taken from the cache; a reload empties it."""
    b = auth_broker(acl=None).start()
    for i in range(3):
        _, rc = rawc(b, "c%d" % i, 4, "admin", USERS["admin"])
        check(rc == 0, "admin %d" % i)
    b.wait_log(r"password of admin: cached", count=2)
    check(b.logtext().count("password of admin: verified") == 1,
          "one KDF for three connections")
    _, rc = rawc(b, "w", 4, "admin", USERS["admin"] + "x")
    check(rc == 4, "a wrong password: %d" % rc)
    b.wait_log(r"password of admin: wrong")
    b.ctl("reload")
    _, rc = rawc(b, "c9", 4, "admin", USERS["admin"])
    check(rc == 0, "admin after the reload")
    b.wait_log(r"password of admin: verified", count=2)
