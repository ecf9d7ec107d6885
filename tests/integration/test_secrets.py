# Secrets stay where they belong.  After authd has answered, no byte
# sequence of a client's password is left anywhere in the engine's
# memory: not in the CONNECT held for authd, not in the read buffers, not
# in the IPC buffers of the channel to authd, not in freed heap.

import os
import secrets
import time

import mqttraw as raw
from harness import CLEANUP, IS_ROOT, broker, check, memory_holds, wait_for


def rawc(b):
    c = raw.Client(b.port)
    CLEANUP.append(c.close)
    return c


def test_no_password_in_engine_memory():
    if not IS_ROOT:
        raise Exception("needs root to read the engine's memory")
    b = broker().start()
    engine = b.children()["engine"]
    pwds = []
    # Accepted clients that stay connected, refused ones, and a CONNECT
    # that arrives in pieces (so it is buffered and the buffer grows).
    for i in range(4):
        pw = "pw-" + secrets.token_hex(16)
        pwds.append(pw.encode())
        c = rawc(b)
        pkt = raw.connect("secret%d" % i, 5 if i % 2 else 4,
                          username="u%d" % i, password=pw)
        if i == 3:
            # Pacing, not waiting for a condition: the pieces should
            # arrive in separate reads, but the test does not rely on it.
            for k in range(0, len(pkt), 7):
                c.send(pkt[k:k + 7])
                time.sleep(0.01)
        else:
            c.send(pkt)
        first, body = c.expect(2)
        check(body[1] == 0, "CONNACK %r" % body)
    # A client refused by a listener that takes no anonymous clients.
    b2 = broker(anonymous=False).start()
    e2 = b2.children()["engine"]
    refused = "pw-" + secrets.token_hex(16)
    c = rawc(b2)
    c.send(raw.connect("refused", 4, username="x", password=refused))
    first, body = c.expect(2)
    check(body[1] != 0, "refused: %r" % body)
    wait_for(lambda: b2.stat("auth.denied") == 1, 10, "the refusal")
    wait_for(lambda: b.stat("clients") == 4, 10, "4 clients")
    for pw in pwds:
        where = memory_holds(engine, pw)
        check(not where, "password %r in the engine's %s" % (pw, where))
        # The test itself is no false negative: the bytes are findable.
        check(memory_holds(os.getpid(), pw), "scan finds a known copy")
    where = memory_holds(e2, refused.encode())
    check(not where, "refused password in the engine's %s" % where)


def _phc_bytes(b64):
    """The bytes of a PHC string's unpadded base64 field."""
    import base64
    return base64.b64decode(b64 + "=" * (-len(b64) % 4))


def test_kdf_workers_hold_nothing_after():
    """authd's KDF workers hold a password and a hash entry only while
    they verify it: afterwards neither the passwords (right or wrong) nor
    the entry is in a worker's memory, nor is any entry of the password
    file they were forked with; authd itself keeps the entries (its job)
    but not the passwords."""
    if not IS_ROOT:
        raise Exception("needs root to read authd's memory")
    import subprocess
    from harness import binary
    b = broker(anonymous=False)
    pwfile = os.path.join(b.dir, "passwd")
    good = "pw-" + secrets.token_hex(16)
    for i, (user, pw) in enumerate((("alice", good),
                                    ("unused", secrets.token_hex(16)))):
        r = subprocess.run([binary("brokerctl"), "passwd"] +
                           (["-c"] if i == 0 else []) +
                           ["-b", pwfile, user, pw], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "brokerctl passwd: %s" % r.stderr)
    os.chmod(pwfile, 0o600)
    with open(pwfile) as f:
        entries = {ln.split(":", 1)[0]: ln.strip().split(":", 1)[1]
                   for ln in f if ":" in ln}
    # $argon2id$v=19$m=..,t=..,p=..$SALT$HASH: the decoded hash bytes
    hashes = {u: _phc_bytes(e.split("$")[-1]) for u, e in entries.items()}
    b.listen = ['listen on 127.0.0.1 port %d password file "%s"'
                % (b.port, pwfile)]
    b.extra = "auth workers 2"
    b.write_conf()
    b.start()
    wrong = "pw-" + secrets.token_hex(16)
    for cid, pw, want in (("ok", good, 0), ("bad", wrong, 0x86)):
        c = rawc(b)
        c.send(raw.connect(cid, 5, username="alice", password=pw))
        first, body = c.expect(2)
        check(body[1] == want, "CONNACK %r" % body)
    wait_for(lambda: b.stat("authd.verified") == 2, 10, "2 verifications")
    authd = b.children()["authd"]
    workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and
               _ppid(int(p)) == authd]
    check(len(workers) == 2, "2 workers: %r" % workers)
    for w in workers:
        for what, needle in (("password", good.encode()),
                             ("wrong password", wrong.encode()),
                             ("alice's hash", hashes["alice"]),
                             ("an unused entry's hash", hashes["unused"])):
            where = memory_holds(w, needle)
            check(not where, "%s in worker %d's %s" % (what, w, where))
    for what, needle in (("password", good.encode()),
                         ("wrong password", wrong.encode())):
        where = memory_holds(authd, needle)
        check(not where, "%s in authd's %s" % (what, where))
    check(memory_holds(authd, hashes["unused"]), "the scan finds authd's "
          "own copy of an entry")


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def test_scram_keys_stay_in_authd():
    """After SCRAM exchanges over MQTT 5 (good and wrong proofs), the
    engine holds neither a StoredKey nor a ServerKey of the credential
    file, nor the password; authd holds the keys (its job)."""
    if not IS_ROOT:
        raise Exception("needs root to read the processes' memory")
    import base64
    import test_scram as ts
    b = ts.scram_broker()
    with open(os.path.join(b.dir, "scram")) as f:
        creds = [ln.strip().split(":", 1)[1] for ln in f if ":" in ln]
    keys = []
    for cr in creds:
        # SCRAM-SHA-256$iter:salt$StoredKey:ServerKey
        stored, server = cr.rsplit("$", 1)[1].split(":")
        keys += [base64.b64decode(stored), base64.b64decode(server)]
    for method in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
        _, rc, _, _ = ts.scram_connect(b, method, "alice", "pencil",
                                       cid="k" + method[-3:])
        check(rc == 0, "%s: %#x" % (method, rc))
        _, rc, _, _ = ts.scram_connect(b, method, "alice", "wrong",
                                       cid="w" + method[-3:])
        check(rc == 0x86, "%s wrong: %#x" % (method, rc))
    engine = b.children()["engine"]
    authd = b.children()["authd"]
    for k in keys:
        where = memory_holds(engine, k)
        check(not where, "a SCRAM key in the engine's %s" % where)
    check(not memory_holds(engine, b"pencil"), "the password in the engine")
    check(all(memory_holds(authd, k) for k in keys), "authd has the keys")
