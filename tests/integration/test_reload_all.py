# A reload is input too: every setting a reload applies, read from its
# one declaration in common/conf.h, is set to its least and its greatest
# value (each choice, for a choice) and back to its default, one reload
# each, while clients that depend on the old values are connected and a
# publisher keeps sending.  The service must survive every step with the
# same processes, keep serving, and keep the clients that the new value
# does not concern.  (What each value does is tested where the setting
# is; this is the sweep that finds a reload the engine cannot take, as
# defect 2 of issue 9 was.)

import os
import re
import threading
import time

import mqttraw as raw
from harness import broker, check, wait_for
from pahoclient import Paho

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

CONSTANTS = {
    "MQTT_MAX_REMAINING": 268435455,
    "SETTING_SIZE_MAX": 1 << 48,
    "UINT32_MAX": 2 ** 32 - 1,
    "EXPIRY_NEVER": 2 ** 32 - 1,
    "AUTHD_WORKERS_MAX": 64,
}


def c_value(expr):
    """A constant expression of conf.h, as Python."""
    e = re.sub(r"(\d+)U?L*L?\b", r"\1", expr.strip())
    for k, v in CONSTANTS.items():
        e = re.sub(r"\b%s\b" % k, str(v), e)
    if not re.fullmatch(r"[\d\s*+()<-]+", e):
        return None
    return eval(e)  # digits and operators only, checked above


def settings(table):
    """(field, kind, default, min, max, keyword) of each reloadable row
    of `table' in common/conf.h."""
    with open(os.path.join(TOP, "common", "conf.h")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"#define %s\(X\)(.*)" % table, text)
    check(m is not None, "%s in conf.h" % table)
    rows = []
    for r in re.finditer(r"X\((\w+),\s*(\w+),\s*([^,]+),\s*([^,]+),"
                         r"\s*([^,]+),\s*\"([^\"]+)\",\s*(\d)\)",
                         m.group(1)):
        if r.group(7) == "1":
            rows.append(r.groups()[:6])
    return rows


def choice_words(field):
    with open(os.path.join(TOP, "common", "conf.c")) as f:
        m = re.search(r"%s_words\[\] = \{([^}]*)\}" % field, f.read())
    check(m is not None, "the words of %s" % field)
    return re.findall(r"\"([^\"]+)\"", m.group(1))


def values(field, kind, default, lo, hi):
    """The values to try, as brokerd.conf writes them."""
    if kind == "CHOICE":
        return choice_words(field)
    if kind == "BOOL":
        return ["no", "yes"]
    if kind == "WORD":
        return ['""', '"r-"']
    out = []
    for v in (c_value(lo), c_value(hi)):
        check(v is not None, "a value for %s" % field)
        if kind == "EXPIRY" and v == 2 ** 32 - 1:
            out.append("never")
        else:
            out.append(str(v))
    return out


class Load:
    """A publisher at QoS 1 and 0, and subscribers of 3.1.1 and 5,
    running through every reload."""

    def __init__(self, b):
        self.b = b
        self.subs = [Paho(b.port, client_id="rs4"),
                     Paho(b.port, client_id="rs5", v5=True)]
        for s in self.subs:
            s.subscribe("load/#", qos=1)
        b.wait_subs(2)
        self.pub = Paho(b.port, client_id="rp5", v5=True)
        self.sent = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            self.pub.publish("load/%d" % (self.sent % 7),
                             b"m%d" % self.sent, qos=self.sent % 2,
                             wait=False)
            self.sent += 1
            time.sleep(0.002)

    def end(self):
        self.stop.set()
        self.t.join()


def reload_to(b, lines):
    b.write_conf(b.conf_text(extra="\n".join(lines)))
    r = b.ctl("reload", check_rc=False)
    return r


def test_every_reloadable_setting_under_load():
    b = broker(verbose=False).start()
    pids = b.children()
    load = Load(b)
    steps = 0
    try:
        for table in ("ENGINE_SETTINGS", "AUTHD_SETTINGS"):
            for field, kind, default, lo, hi, word in settings(table):
                for v in values(field, kind, default, lo, hi):
                    r = reload_to(b, ["%s %s" % (word, v)])
                    check(r.returncode == 0, "reload with %s %s: %s" % (
                        word, v, r.stdout + r.stderr))
                    r = reload_to(b, [])
                    check(r.returncode == 0, "reload back from %s %s: %s"
                          % (word, v, r.stdout + r.stderr))
                    check(b.proc.poll() is None and b.children() == pids,
                          "the same processes after %s %s: %s" % (
                              word, v, b.children()))
                    steps += 2
        check(steps > 60, "%d reloads: every table read" % steps)
    finally:
        load.end()
    # Back to the defaults: the clients that were there are served.
    n = len(load.subs[1].msgs)
    load.pub.publish("load/end", b"end", qos=1)
    wait_for(lambda: any(m.payload == b"end" for m in load.subs[1].msgs),
             10, "the MQTT 5 subscriber still gets messages")
    check(len(load.subs[1].msgs) > n, "messages after the sweep")
    c = raw.Client(b.port)
    c.send(raw.connect("fresh", 5))
    check(c.expect(2)[1][1] == 0, "a new client is accepted")
    c.close()
    print("%d reloads under load, %d messages published" % (steps,
                                                           load.sent))
