# A signal to the whole process group (Ctrl-C in a terminal, systemd's
# KillMode=control-group) is one orderly stop; a child that really dies
# is still reported as a crash.

import os
import signal

from harness import alive, broker, check, proc_children, wait_for


def group_stop(sig, name):
    b = broker(name="pg").start()
    kids = b.children()
    check(len(kids) == 4, "four children: %r" % kids)
    pgid = os.getpgid(b.pid)
    check(pgid != os.getpgid(0), "brokerd has its own process group")
    for pid in kids.values():
        check(os.getpgid(pid) == pgid, "the children are in its group")
    os.killpg(pgid, sig)
    rc = b.wait_exit()
    log = b.logtext()
    check(rc == 0, "exit status %s after %s to the group:\n%s" %
          (rc, name, log))
    check("received %s, stopping" % name in log, "the log says why:\n" + log)
    check("child process ended" not in log,
          "no child reported as ended:\n" + log)
    check("terminated by signal" not in log and "did not stop" not in log,
          "every child stopped in order:\n" + log)
    wait_for(lambda: not any(alive(p) for p in kids.values()), 10,
             "the children to be gone")
    # Each exited of its own accord (reaping says nothing of the order).
    for name, pid in kids.items():
        check("%s (pid %d) exited\n" % (name, pid) in log,
              "%s exited with status 0:\n%s" % (name, log))
    check(b.logtext().rstrip().endswith("brokerd stopped"),
          "brokerd stopped")


def test_sigint_to_process_group():
    group_stop(signal.SIGINT, "SIGINT")


def test_sigterm_to_process_group():
    group_stop(signal.SIGTERM, "SIGTERM")


def test_children_ignore_group_signals():
    """A signal that reaches only a child (as a group signal does before
    the parent acts on it) does not end it."""
    b = broker(name="ign").start()
    kids = b.children()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        for pid in kids.values():
            os.kill(pid, sig)
    # The engine still answers, so every signal above has been handled.
    b.stats()
    check(all(alive(p) for p in kids.values()), "every child runs")
    check(b.children() == kids, "the same children")
    check("child process ended" not in b.logtext(), "nothing ended")


def test_kill9_of_a_child_is_a_crash():
    b = broker(name="k9").start()
    pid = b.children()["authd"]
    os.kill(pid, signal.SIGKILL)
    rc = b.wait_exit()
    check(rc == 1, "exit status %s after a child died" % rc)
    b.wait_log(r"a child process ended; stopping brokerd")
    b.wait_log(r"authd \(pid %d\) terminated by signal SIGKILL" % pid)
    wait_for(lambda: not any(alive(p) for p in proc_children(b.proc.pid)),
             10, "the other children to be gone")
