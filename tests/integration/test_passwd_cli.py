# brokerctl passwd: password and SCRAM credential files, offline, as
# mosquitto_passwd manages Mosquitto's; and Mosquitto reads what it
# writes with -m sha512-pbkdf2.

import os
import shutil
import stat
import subprocess
import tempfile

import harness
from harness import binary, check, free_port, wait_for


def tmpdir():
    d = tempfile.mkdtemp(prefix="brokerctl-passwd-")
    harness.CLEANUP.append(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def passwd(*args, stdin=subprocess.DEVNULL):
    r = subprocess.run([binary("brokerctl"), "passwd"] + list(args),
                       capture_output=True, text=True, timeout=60,
                       stdin=stdin)
    return r.returncode, r.stdout + r.stderr


def lines(f):
    with open(f) as fp:
        return fp.read().splitlines()


def test_passwd_edit():
    d = tmpdir()
    f = os.path.join(d, "passwd")
    rc, out = passwd("-c", "-b", f, "alice", "pencil")
    check(rc == 0, "create: %s" % out)
    check(stat.S_IMODE(os.stat(f).st_mode) == 0o600, "a new file is 0600")
    (a,) = lines(f)
    check(a.startswith("alice:$argon2id$v=19$m=19456,t=2,p=1$"),
          "argon2id by default: %s" % a)

    with open(f, "a") as fp:
        fp.write("# a comment that stays\n")
    rc, out = passwd("-b", "-m", "sha512-pbkdf2", "-i", "1000", f, "bob",
                     "x y")
    check(rc == 0, "add: %s" % out)
    ls = lines(f)
    check(len(ls) == 3 and ls[1] == "# a comment that stays" and
          ls[2].startswith("bob:$7$1000$"), "added at the end: %s" % ls)

    # A new password replaces the line where it stands.
    rc, out = passwd("-b", f, "alice", "other")
    check(rc == 0, "change: %s" % out)
    ls2 = lines(f)
    check(ls2[0].startswith("alice:$argon2id$") and ls2[0] != ls[0] and
          ls2[1:] == ls[1:], "replaced in place: %s" % ls2)

    rc, out = passwd("-D", f, "bob")
    check(rc == 0 and len(lines(f)) == 2, "delete: %s %s" % (out, lines(f)))
    rc, out = passwd("-D", f, "bob")
    check(rc == 1 and "no user bob" in out, "delete again: %s" % out)

    # No terminal and no -b: no password.
    rc, out = passwd(f, "carol")
    check(rc == 1 and "terminal" in out, "no tty: %s" % out)
    check(len(lines(f)) == 2, "unchanged")

    # Bad names, empty passwords, usage.
    for args in (["-b", f, "a:b", "x"], ["-b", f, " a", "x"],
                 ["-b", f, "c", ""], ["-b", f, "c"], ["-c", "-D", f, "c"],
                 ["-m", "md5", "-b", f, "c", "x"]):
        rc, out = passwd(*args)
        check(rc == 1, "%s refused: %s" % (args, out))
    check(len(lines(f)) == 2, "unchanged")
    left = [n for n in os.listdir(d) if n != "passwd"]
    check(left == [], "no temporary files left: %s" % left)


def test_passwd_refuses():
    d = tmpdir()
    f = os.path.join(d, "passwd")
    rc, out = passwd("-b", f, "alice", "x")
    check(rc == 1 and "no such file" in out, "missing file: %s" % out)

    rc, out = passwd("-c", "-b", f, "alice", "x")
    check(rc == 0, out)
    os.chmod(f, 0o640)
    rc, out = passwd("-b", f, "bob", "y")
    check(rc == 1 and "group or others" in out,
          "group-readable file refused: %s" % out)
    os.chmod(f, 0o600)

    # A file authd would refuse is not edited.
    with open(f, "a") as fp:
        fp.write("not a valid line\n")
    before = lines(f)
    rc, out = passwd("-b", f, "bob", "y")
    check(rc == 1 and "%s:2: no ':'" % f in out, "bad file: %s" % out)
    check(lines(f) == before, "unchanged")

    # -c starts over.
    rc, out = passwd("-c", "-b", f, "bob", "y")
    check(rc == 0 and len(lines(f)) == 1 and lines(f)[0].startswith("bob:"),
          "-c replaces: %s %s" % (out, lines(f)))


def test_passwd_scram():
    d = tmpdir()
    f = os.path.join(d, "scram")
    rc, out = passwd("-c", "-b", "-m", "scram", f, "alice", "pencil")
    check(rc == 0, out)
    ls = lines(f)
    check(len(ls) == 2 and ls[0].startswith("alice:SCRAM-SHA-256$4096:") and
          ls[1].startswith("alice:SCRAM-SHA-512$4096:"), "both: %s" % ls)
    rc, out = passwd("-b", "-m", "scram-sha-256", "-i", "8192", f, "alice",
                     "other")
    ls2 = lines(f)
    check(rc == 0 and ls2[0].startswith("alice:SCRAM-SHA-256$8192:") and
          ls2[1] == ls[1], "one mechanism replaced: %s %s" % (out, ls2))
    rc, out = passwd("-D", "-m", "scram-sha-512", f, "alice")
    check(rc == 0 and lines(f) == ls2[:1], "one deleted: %s" % lines(f))
    rc, out = passwd("-b", "-m", "scram", "-i", "1000", f, "bob", "x")
    check(rc == 1 and "4096" in out, "too few iterations: %s" % out)


def test_passwd_mosquitto_reads_ours():
    """mosquitto 2.0 logs in the users of a $7$ file we wrote."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(mosquitto, os.X_OK):
        return
    d = tmpdir()
    f = os.path.join(d, "passwd")
    check(passwd("-c", "-b", "-m", "sha512-pbkdf2", "-i", "1000", f,
                 "alice", "pencil")[0] == 0, "alice")
    check(passwd("-b", "-m", "sha512-pbkdf2", f, "bob", "b:c d")[0] == 0,
          "bob")
    port = free_port()
    conf = os.path.join(d, "mosquitto.conf")
    with open(conf, "w") as fp:
        fp.write("listener %d 127.0.0.1\nallow_anonymous false\n"
                 "password_file %s\n" % (port, f))
        if harness.IS_ROOT:
            fp.write("user root\n")
    log = open(os.path.join(d, "mosquitto.log"), "w")
    p = subprocess.Popen([mosquitto, "-c", conf], stdout=log,
                         stderr=subprocess.STDOUT)
    harness.CLEANUP.append(lambda: (p.kill(), p.wait()))

    def pub(user, pw):
        return subprocess.run(
            ["mosquitto_pub", "-p", str(port), "-u", user, "-P", pw,
             "-t", "t", "-m", "m"], capture_output=True, timeout=30
        ).returncode

    wait_for(lambda: pub("alice", "pencil") == 0, timeout=10,
             what="mosquitto to accept alice")
    check(pub("bob", "b:c d") == 0, "bob logs in")
    check(pub("alice", "pencim") != 0, "a wrong password is refused")
    check(pub("carol", "x") != 0, "an unknown user is refused")
