# Persistence: what storaged keeps survives a clean restart and kill -9
# of any process and of the whole service; `persistence off' keeps
# nothing; a damaged store is refused or moved aside.
import glob
import os
import signal
import time

from harness import TestFailure, alive, broker, check, wait_for
from pahoclient import Paho


def restart(b, kill=None):
    """Stop `b' (SIGTERM, or kill -9 of the named child or of "all"),
    and start it again with a fresh log."""
    pids = [b.pid] + list(b.children().values())
    if kill is None:
        b.signal(signal.SIGTERM)
    elif kill == "all":
        os.killpg(b.proc.pid, signal.SIGKILL)
    else:
        os.kill(b.children()[kill], signal.SIGKILL)
    b.proc.wait(15)
    b.kill_leftovers()
    # All gone, the listening sockets with them.
    wait_for(lambda: not any(alive(p) for p in pids), 15,
             "the old processes to go")
    b.logf.close()
    os.rename(b.log, b.log + ".%d" % len(glob.glob(b.log + ".*")))
    b.start()
    return b


def offline_subscriber(b, cid, topic, qos=2, v5=False):
    c = Paho(b.port, client_id=cid, v5=v5, clean=False,
             props=expiry_props(3600) if v5 else None)
    c.subscribe(topic, qos)
    c.close()
    return c


def expiry_props(secs):
    from pahoclient import props
    return props("CONNECT", SessionExpiryInterval=secs)


def publish_acked(b, topic, n, qos, prefix):
    """Publish n messages and wait for every PUBACK/PUBCOMP."""
    p = Paho(b.port, client_id="pub-" + prefix)
    for i in range(n):
        p.publish(topic, "%s-%d" % (prefix, i), qos)
    p.close()
    return ["%s-%d" % (prefix, i) for i in range(n)]


def collect(b, cid, n, v5=False, timeout=20):
    c = Paho(b.port, client_id=cid, v5=v5, clean=False,
             props=expiry_props(3600) if v5 else None)
    check(c.session_present, "the session of %s is back" % cid)
    c.wait_msgs(n, timeout)
    time.sleep(0.3)     # anything more would be a duplicate
    got = [p.decode() for p in c.payloads()]
    c.close()
    return got


def survive(kill):
    b = broker(name="persist").start()
    offline_subscriber(b, "ps1", "p/#", 2)
    offline_subscriber(b, "ps5", "p/#", 1, v5=True)
    sent1 = publish_acked(b, "p/a", 20, 1, "one")
    sent2 = publish_acked(b, "p/b", 20, 2, "two")
    p = Paho(b.port)
    p.publish("p/r", "kept", 1, retain=True)
    p.close()
    restart(b, kill)
    check(b.stat("store.recovered") > 0, "state recovered")
    got = collect(b, "ps1", 41)
    check(sorted(got) == sorted(sent1 + sent2 + ["kept"]),
          "all acknowledged messages after %s: %r" % (kill, got))
    got5 = collect(b, "ps5", 41, v5=True)
    check(sorted(got5) == sorted(sent1 + sent2 + ["kept"]),
          "MQTT 5 session after %s: %r" % (kill, got5))
    r = Paho(b.port)
    r.subscribe("p/r", 1)
    r.wait_msgs(1)
    check(r.msgs[0].payload == b"kept" and r.msgs[0].retain,
          "retained message survived")
    r.close()
    # Delivered now: gone from the store too.
    restart(b)
    c = Paho(b.port, client_id="ps1", clean=False)
    time.sleep(1.0)
    check(len(c.msgs) == 0, "nothing delivered twice: %r" % c.payloads())
    c.close()
    b.cleanup()


def test_kill9_whole_service():
    survive("all")


def test_kill9_engine():
    survive("engine")


def test_kill9_storaged():
    survive("storaged")


def test_clean_restart_keeps_sessions_and_subscriptions():
    b = broker(name="restart").start()
    offline_subscriber(b, "keep1", "k/+", 1)
    restart(b)
    sent = publish_acked(b, "k/x", 5, 1, "after")
    got = collect(b, "keep1", 5)
    check(got == sent, "the subscription was kept: %r" % got)
    b.cleanup()


def test_clean_sessions_are_not_stored():
    b = broker(name="clean").start()
    c = Paho(b.port, client_id="c1", clean=True)
    c.subscribe("c/#", 1)
    p = Paho(b.port)
    for i in range(10):
        p.publish("c/x", "m%d" % i, 1)
        p.publish("c/x", "z%d" % i, 0)
    p.close()
    c.wait_msgs(20)
    c.close()
    check(b.stat("store.requests") == 0,
          "clean sessions and QoS 0 cost no request: %d" %
          b.stat("store.requests"))
    b.cleanup()


def test_persistence_off():
    b = broker(name="off", extra="persistence off").start()
    offline_subscriber(b, "o1", "o/#", 1)
    publish_acked(b, "o/x", 3, 1, "gone")
    check(glob.glob(os.path.join(b.datadir, "*.db")) == [],
          "no database files with persistence off")
    restart(b)
    c = Paho(b.port, client_id="o1", clean=False)
    check(not c.session_present, "nothing survives with persistence off")
    c.close()
    b.cleanup()


def damage(b):
    """A store with content, stopped, with a page of msg.db damaged."""
    p = Paho(b.port)
    for i in range(30):
        p.publish("d/%d" % i, "x" * 3000, 1, retain=True)
    p.close()
    b.signal(signal.SIGTERM)
    b.proc.wait(15)
    b.logf.close()
    # storaged checkpointed as it stopped: the pages are in the file.
    f = os.path.join(b.datadir, "msg.db")
    check(os.path.getsize(f) >= 4096 * 20, "msg.db has its pages")
    with open(f, "r+b") as fp:
        fp.seek(4096 * 5 + 100)
        c = fp.read(1)
        fp.seek(4096 * 5 + 100)
        fp.write(bytes([c[0] ^ 0x40]))
    os.rename(b.log, b.log + ".0")


def test_damaged_store_is_refused():
    b = broker(name="damaged").start()
    damage(b)
    b.start(wait=False)
    try:
        b.proc.wait(20)
    except Exception:
        raise TestFailure("brokerd started with a damaged store")
    check(b.proc.returncode != 0, "brokerd refused to start")
    check("msg.db" in b.logtext(), "the log names msg.db:\n" +
          b.logtext())
    check(os.path.exists(os.path.join(b.datadir, "msg.db")),
          "nothing was moved")
    b.logf.close()
    b.cleanup()


def test_damaged_store_moved_aside():
    b = broker(name="aside", extra="damaged store move-aside").start()
    damage(b)
    b.start()
    b.wait_log("MOVED THE DAMAGED STORE")
    moved = glob.glob(os.path.join(b.datadir, "damaged-*", "msg.db"))
    check(len(moved) == 1, "the damaged files are kept aside")
    r = Paho(b.port)
    r.subscribe("d/#", 1)
    time.sleep(0.5)
    check(len(r.msgs) == 0, "the broker started empty")
    r.close()
    check(all(alive(p) for p in b.children().values()), "it serves")
    b.cleanup()


class RawPublisher:
    """A QoS 1 and 2 publisher with a persistent session that keeps the
    MQTT 3.1.1 rules to the letter across reconnects (PUBLISH again with
    DUP until PUBREC, then only PUBREL), so that what reaches the
    subscriber is the broker's doing alone."""

    def __init__(self, port, cid, window=20):
        self.port, self.cid, self.window = port, cid, window
        self.out = {}           # pid -> [payload, qos, "pub" | "rel"]
        self.acked = set()
        self.sock = None
        self.next_pid = 1
        self.i = 0

    def connect(self):
        import mqttraw as raw
        c = None
        try:
            c = raw.Client(self.port, timeout=2)
            c.send(raw.connect(self.cid, 4, clean=False))
            p = c.read(5)
            if p is None or p[0] >> 4 != 2 or p[1][1] != 0:
                raise OSError("no CONNACK")
            for pid, (payload, qos, state) in sorted(self.out.items()):
                if state == "pub":
                    c.send(raw.publish("kc/t", payload, qos, pid,
                                       dup=True))
                else:
                    c.send(raw.ack("pubrel", pid))
        except OSError:
            if c is not None:
                c.close()
            return False
        self.sock = c
        return True

    def step(self, publish):
        import mqttraw as raw
        if self.sock is None and not self.connect():
            time.sleep(0.05)
            return
        try:
            while publish and len(self.out) < self.window:
                while self.next_pid in self.out:
                    self.next_pid = self.next_pid % 65535 + 1
                pid = self.next_pid
                self.next_pid = self.next_pid % 65535 + 1
                qos = 1 + self.i % 2
                payload = "%d-%d" % (qos, self.i)
                self.i += 1
                self.out[pid] = [payload, qos, "pub"]
                self.sock.send(raw.publish("kc/t", payload, qos, pid))
            p = self.sock.read(0.05)
            while p is not None:
                kind, pid = p[0] >> 4, int.from_bytes(p[1][:2], "big")
                e = self.out.get(pid)
                if kind == 4 and e and e[1] == 1:              # PUBACK
                    self.acked.add(self.out.pop(pid)[0])
                elif kind == 5 and e and e[1] == 2:            # PUBREC
                    e[2] = "rel"
                    self.sock.send(raw.ack("pubrel", pid))
                elif kind == 7 and e and e[2] == "rel":        # PUBCOMP
                    self.acked.add(self.out.pop(pid)[0])
                p = self.sock.read(0.001)
            # read() says None at EOF as after a timeout: look.
            if self.sock.closed(0.001):
                raise OSError("closed")
        except (OSError, AssertionError):
            self.sock.close()
            self.sock = None


def test_kill_cycles():
    """kill -9 at random moments under load, of the engine, of storaged
    or of the whole service, BROKERD_KILL_CYCLES times (20 by default):
    every message the publisher had acknowledged (PUBACK, PUBCOMP)
    reaches the persistent subscriber, and no QoS 2 message twice."""
    import random
    import threading
    import paho.mqtt.client as mqtt

    cycles = int(os.environ.get("BROKERD_KILL_CYCLES", "20"))
    rnd = random.Random(int(os.environ.get("BROKERD_KILL_SEED", "1")))
    b = broker(name="cycles").start()
    lock = threading.Lock()
    received = []
    stop = threading.Event()

    def on_message(c, u, m):
        with lock:
            received.append(m.payload.decode())

    sub = mqtt.Client(client_id="kc-sub", clean_session=False)
    sub.reconnect_delay_set(0.05, 0.3)
    sub.on_message = on_message
    sub.connect("127.0.0.1", b.port, keepalive=30)
    sub.loop_start()
    wait_for(sub.is_connected, 10, "the subscriber")
    sub.subscribe("kc/#", 2)
    time.sleep(0.5)
    pub = RawPublisher(b.port, "kc-pub")

    def publisher():
        while not stop.is_set():
            pub.step(True)
        deadline = time.monotonic() + 30
        while pub.out and time.monotonic() < deadline:
            pub.step(False)

    t = threading.Thread(target=publisher)
    t.start()
    try:
        for n in range(cycles):
            time.sleep(rnd.uniform(0.05, 0.6))
            restart(b, rnd.choice(("all", "engine", "storaged")))
    finally:
        stop.set()
        t.join()
    check(not pub.out, "the publisher's last acks: %d missing (%d acked), "
          "%r" % (len(pub.out), len(pub.acked), {
              k: v for k, v in b.stats().items() if k in (
                  "inflight", "queued", "held", "clients", "store.waiting")}))
    want = set(pub.acked)
    wait_for(lambda: want <= set(received), 30,
             "%d acknowledged messages lost" % len(want - set(received)))
    time.sleep(0.5)
    sub.loop_stop()
    with lock:
        counts = {}
        for p in received:
            counts[p] = counts.get(p, 0) + 1
    dup2 = [p for p, k in counts.items() if k > 1 and p.startswith("2-")]
    dup1 = [p for p, k in counts.items() if k > 1 and p.startswith("1-")]
    print("%d cycles: %d acknowledged, %d received, 0 lost, %d QoS 2 and "
          "%d QoS 1 duplicates" % (cycles, len(want), len(received),
                                   len(dup2), len(dup1)))
    check(not dup2, "QoS 2 messages delivered twice: %r" % dup2[:10])
    b.cleanup()


def test_slow_disk_leaves_qos0_alone():
    """Commits slowed to 400 ms (a test hook in storaged): a persistent
    QoS 1 publisher waits for them, QoS 0 between clean sessions does
    not."""
    os.environ["BROKERD_TEST_COMMIT_DELAY"] = "400"
    try:
        b = broker(name="slow").start()
    finally:
        del os.environ["BROKERD_TEST_COMMIT_DELAY"]
    offline_subscriber(b, "slow1", "s/#", 1)
    sub = Paho(b.port, client_id="fast")
    sub.subscribe("q/#", 0)
    pub = Paho(b.port, client_id="p0")
    slow = Paho(b.port, client_id="p1")
    # Keep storaged busy committing, one slow batch after another.
    infos = [slow.publish("s/x", "m%d" % i, 1, wait=False)
             for i in range(10)]
    lat = []
    for i in range(20):
        n = len(sub.msgs)
        t0 = time.monotonic()
        pub.publish("q/x", "ping%d" % i, 0)
        wait_for(lambda: len(sub.msgs) > n, 5, "a QoS 0 message")
        lat.append(time.monotonic() - t0)
        time.sleep(0.02)
    lat.sort()
    t0 = time.monotonic()
    wait_for(lambda: all(i.mid in slow.pubacks for i in infos), 30,
             "the slow acks")
    check(lat[-1] < 0.2, "QoS 0 took up to %.0f ms beside a slow disk" %
          (lat[-1] * 1000))
    check(b.stat("store.waited") >= 10, "the QoS 1 acks waited")
    for c in (sub, pub, slow):
        c.close()
    b.cleanup()


def test_disk_full_refuses_then_recovers():
    """The data directory on a 4 MB tmpfs, filled: MQTT 5 publishes that
    need the disk are refused with 0x97, none is acknowledged and lost,
    and all is well once there is space again."""
    import subprocess
    from harness import IS_ROOT, USERS, uid_of
    from pahoclient import props
    if not IS_ROOT:
        print("skipped: needs root to mount a tmpfs")
        return
    b = broker(name="full")
    os.makedirs(b.datadir, mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700",
                    "tmpfs", b.datadir], check=True)
    try:
        os.chown(b.datadir, uid_of(USERS["storaged"]), -1)
        filler = os.path.join(b.datadir, "filler")
        b.start()
        offline_subscriber(b, "full1", "f/#", 1, v5=True)
        p = Paho(b.port, client_id="pfull", v5=True)
        acked, refused = [], 0
        with open(filler, "wb") as f:
            f.write(b"\0" * (1024 * 1024))
        for i in range(1000):
            info = p.c.publish("f/x", "%d-" % i + "x" * 10000, 1)
            wait_for(lambda: info.mid in p.pubacks or p.disconnected
                     is not None, 10, "an answer")
            if b.stat("store.refused") > refused:
                refused = b.stat("store.refused")
                break
            acked.append("%d-" % i + "x" * 10000)
        check(refused > 0, "a publish was refused for the full disk: %s %r"
              % (subprocess.run(["df", "-k", b.datadir], text=True,
                                capture_output=True).stdout, {
                  k: v for k, v in b.stats().items()
                  if k.startswith("store") or k == "queued"}))
        os.unlink(filler)
        p.publish("f/x", "after", 1)
        acked.append("after")
        p.close()
        got = collect(b, "full1", len(acked), v5=True, timeout=30)
        check(set(acked) <= set(got), "%d acknowledged messages lost" %
              len(set(acked) - set(got)))
    finally:
        b.cleanup()
        subprocess.run(["umount", b.datadir])
