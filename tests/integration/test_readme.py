# The README's tour, as written there, against the configuration that
# `make run' writes (scripts/runconf), on a free port and directory: the
# README cannot drift from the code.

import os
import shlex
import subprocess

from harness import (CLEANUP, TestFailure, binary, broker, check, path,
                     wait_for)

MARK = "<!-- tour:"


def tour_commands():
    """The commands of the fenced block after the tour's marker."""
    with open(path("README.md")) as f:
        lines = f.read().splitlines()
    starts = [i for i, l in enumerate(lines) if l.startswith(MARK)]
    check(len(starts) == 1, "one tour marker in README.md")
    i = starts[0] + 1
    check(lines[i].startswith("```"), "a fenced block after the marker")
    cmds = []
    for line in lines[i + 1:]:
        if line.startswith("```"):
            return cmds
        argv = shlex.split(line, comments=True)
        if argv:
            cmds.append(argv)
    raise TestFailure("the tour's block does not end")


def localise(argv, b, rundir):
    """The command for this broker: its port, its run/ directory."""
    bg = argv[-1] == "&"
    if bg:
        argv = argv[:-1]
    out = []
    for a in argv:
        if a.startswith("run/"):
            a = os.path.join(rundir, a[len("run/"):])
        elif a == "build/sbin/brokerctl":
            a = binary("brokerctl")
        out.append(a)
    if os.path.basename(out[0]) in ("mosquitto_sub", "mosquitto_pub"):
        out[1:1] = ["-p", str(b.port)]
    return out, bg


def opt(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def topic_matches(filt, topic):
    f, t = filt.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


def run_broker():
    b = broker(name="readme")
    rundir = os.path.join(b.dir, "run")
    os.mkdir(rundir)
    conf = subprocess.run(["sh", path("scripts", "runconf"), rundir,
                           str(b.port)], check=True, capture_output=True,
                          text=True).stdout
    b.control = os.path.join(rundir, "brokerd.sock")
    b.unix_path = None
    b.write_conf(conf)
    b.start()
    return b, rundir


def test_runconf_is_make_runs():
    """scripts/run writes what scripts/runconf prints, for port 1883."""
    with open(path("scripts", "run")) as f:
        text = f.read()
    check('scripts/runconf" "$run" >"$run/brokerd.conf"' in text,
          "make run writes its configuration with scripts/runconf")
    conf = subprocess.run(["sh", path("scripts", "runconf"), "/x"],
                          check=True, capture_output=True,
                          text=True).stdout
    check("listen on 127.0.0.1 port 1883 allow anonymous\n" in conf,
          "anonymous clients on the loopback listener:\n" + conf)
    check(conf.count("listen on") == 1, "that listener only")


def test_readme_tour():
    cmds = tour_commands()
    check(len(cmds) >= 3, "the tour has commands: %r" % cmds)
    b, rundir = run_broker()
    published = []          # (topic, message, retained)
    background = []         # (argv, Popen, output file)
    for argv in cmds:
        cmd, bg = localise(argv, b, rundir)
        prog = os.path.basename(cmd[0])
        if bg:
            check(prog == "mosquitto_sub", "only subscribers run in the "
                  "background: %s" % " ".join(argv))
            before = b.stat("subscriptions")
            out = open(os.path.join(b.dir, "bg%d.out" % len(background)),
                       "w+")
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                 text=True)
            CLEANUP.append(p.kill)
            background.append((argv, p, out))
            # As a user would, before the next command: it is subscribed.
            b.wait_subs(before + 1)
            continue
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "%s: exit %d: %s%s" % (
            " ".join(argv), r.returncode, r.stdout, r.stderr))
        if prog == "mosquitto_pub":
            published.append((opt(cmd, "-t"), opt(cmd, "-m"), "-r" in cmd))
        elif prog == "mosquitto_sub":
            # A subscriber that stops after -C messages gets what is
            # retained on its topic: the last retained publication.
            topic = opt(cmd, "-t")
            kept = [m for t, m, r in published
                    if r and topic_matches(topic, t)]
            check(kept, "the tour publishes a retained message before %s"
                  % " ".join(argv))
            check(r.stdout.splitlines() == [kept[-1]],
                  "%s printed %r, expected %r" % (" ".join(argv), r.stdout,
                                                 kept[-1]))
        elif prog == "brokerctl":
            check("messages.received" in r.stdout and
                  "connections" in r.stdout, "show stats: " + r.stdout)
    check(published, "the tour publishes")
    for argv, p, out in background:
        filt = opt(argv, "-t")
        want = ["%s %s" % (t, m) for t, m, _ in published
                if topic_matches(filt, t)]
        check(want, "the background subscriber gets something")

        def got():
            out.seek(0)
            return out.read().splitlines()
        wait_for(lambda: got() == want, 10,
                 "%s to print %r" % (" ".join(argv), want))
        check(p.poll() is None, "the background subscriber still runs")
        p.kill()
        p.wait()
        out.close()


def test_readme_commands_at_top():
    """The two commands at the top name what exists."""
    with open(path("README.md")) as f:
        head = f.read(2000)
    check("sh scripts/deps && make run" in head, "make run at the top")
    check("sh scripts/deps test && make test" in head, "make test at the top")
    with open(path("Makefile")) as f:
        mk = f.read()
    check("\nrun:" in mk and "\ntest:" in mk, "the Makefile has run and test")
    check("sh scripts/run" in mk, "make run uses scripts/run")
    with open(path("scripts", "deps")) as f:
        check("test" in f.read(), "scripts/deps knows the test set")
