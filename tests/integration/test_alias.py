# Topic aliases from the broker to MQTT 5 clients (server -> client):
# only to a client that announced a Topic Alias Maximum, never above it,
# the least recently used one replaced when they are all taken.

import json
import os
import subprocess

from harness import broker, check, pub, wait_for
from pahoclient import Paho, props

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = "building/north-wing/floor-07/room-0712/sensor/"


def resolve(msgs, maximum):
    """The topics of `msgs' as a client resolves them, checking each
    alias as MQTT 5 says a client must ([MQTT-3.3.2-7], 3.3.4-1)."""
    table, out, aliased = {}, [], 0
    for m in msgs:
        a = getattr(m.properties, "TopicAlias", None)
        topic = m.topic
        if a is not None:
            aliased += 1
            check(1 <= a <= maximum, "alias %d within 1..%d" % (a, maximum))
            if topic:
                table[a] = topic
            else:
                check(a in table, "alias %d used before it was set" % a)
                topic = table[a]
        else:
            check(topic != "", "an empty topic without an alias")
        out.append((topic, m.payload.decode()))
    return out, aliased


def subscriber(b, maximum, cid):
    kw = {}
    if maximum is not None:
        kw["props"] = props("CONNECT", TopicAliasMaximum=maximum)
    s = Paho(b.port, cid, v5=True, **kw)
    s.subscribe("building/#", qos=1)
    return s


def test_aliases_within_the_clients_maximum():
    """Many topics, more than the maximum: every message arrives on its
    own topic, aliases stay within the maximum, and a topic sent again
    while its alias is kept goes with the alias alone."""
    b = broker().start()
    s = subscriber(b, 4, "ta4")
    p = Paho(b.port, "tapub", v5=True)
    sent = []
    # 10 topics round-robin (more than 4 aliases), then one hot topic.
    for rnd in range(3):
        for i in range(10):
            sent.append((LONG + "t%d" % i, "r%d-%d" % (rnd, i)))
    for i in range(20):
        sent.append((LONG + "hot", "h%d" % i))
    for t, m in sent:
        p.publish(t, m, qos=1)
    s.wait_msgs(len(sent))
    got, aliased = resolve(s.msgs, 4)
    check(got == sent, "every message on its topic, in order:\n%r" % got)
    check(aliased == len(sent), "each long topic went with an alias")
    empty = sum(1 for m in s.msgs if m.topic == "")
    # The hot topic: set once, then 19 times the alias alone.  Round
    # robin over 10 topics with 4 aliases (least recently used replaced)
    # never finds its alias kept.
    check(empty == 19, "19 PUBLISH with the alias alone, got %d" % empty)
    st = b.stats()
    check(st["topic_aliases.used"] == 19, "counted: %r" % st)
    check(st["topic_aliases.set"] == 31, "31 aliases set: %r" % st)
    saved = 19 * len(LONG + "hot") - 3 * 50
    check(st["topic_aliases.bytes_saved"] == saved,
          "bytes saved %d, expected %d" % (st["topic_aliases.bytes_saved"],
                                           saved))
    p.close()
    s.close()


def test_lru_keeps_the_recently_used():
    """Two hot topics survive a stream of one-off topics through a
    table of 3: the least recently used alias is the one replaced."""
    b = broker().start()
    s = subscriber(b, 3, "talru")
    p = Paho(b.port, "tapub2", v5=True)
    sent = []
    for i in range(12):
        sent.append((LONG + "hotA", "a%d" % i))
        sent.append((LONG + "hotB", "b%d" % i))
        sent.append((LONG + "once%d" % i, "o%d" % i))
    for t, m in sent:
        p.publish(t, m, qos=1)
    s.wait_msgs(len(sent))
    got, _ = resolve(s.msgs, 3)
    check(got == sent, "every message on its topic")
    hot = [m for m in s.msgs if m.topic == ""]
    check(len(hot) == 22, "hotA and hotB sent with the alias alone after "
          "the first time: %d" % len(hot))
    p.close()
    s.close()


def test_no_alias_without_a_maximum():
    """A client that announces 0, or nothing, and MQTT 3.1.1 clients get
    every topic in full."""
    b = broker().start()
    zero = subscriber(b, 0, "ta0")
    none = subscriber(b, None, "tanone")
    old = Paho(b.port, "ta311")
    old.subscribe("building/#", qos=1)
    for i in range(5):
        pub(b, LONG + "x", "m%d" % i, qos=1)
    for c in (zero, none, old):
        c.wait_msgs(5)
        check(all(m.topic == LONG + "x" for m in c.msgs), "full topics")
        if c.v5:
            check(all(getattr(m.properties, "TopicAlias", None) is None
                      for m in c.msgs), "no Topic Alias property")
        c.close()
    check(b.stat("topic_aliases.set") == 0, "no alias set")


def test_aliases_turned_off():
    b = broker(extra="topic aliases to clients 0").start()
    s = subscriber(b, 10, "taoff")
    for i in range(3):
        pub(b, LONG + "y", "m%d" % i, qos=1)
    s.wait_msgs(3)
    check(all(m.topic == LONG + "y" for m in s.msgs), "full topics")
    check(b.stat("topic_aliases.set") == 0, "no alias set")
    s.close()


def test_broker_setting_caps_the_clients_maximum():
    b = broker(extra="topic aliases to clients 2").start()
    s = subscriber(b, 100, "tacap")
    p = Paho(b.port, "tapub3", v5=True)
    sent = [(LONG + "c%d" % (i % 5), str(i)) for i in range(25)]
    for t, m in sent:
        p.publish(t, m, qos=1)
    s.wait_msgs(len(sent))
    got, _ = resolve(s.msgs, 2)
    check(got == sent, "every message on its topic")
    p.close()
    s.close()


def test_mqttjs_resolves_aliases():
    """MQTT.js, which resolves the aliases itself, sees every topic."""
    b = broker().start()
    script = """
const mqtt = require('mqtt');
const c = mqtt.connect('mqtt://127.0.0.1:' + process.argv[1], {
  protocolVersion: 5, reconnectPeriod: 0,
  properties: { topicAliasMaximum: 3 } });
const got = [];
c.on('message', (topic, payload) => {
  got.push([topic, payload.toString()]);
  if (got.length === Number(process.argv[2])) {
    console.log(JSON.stringify(got)); c.end(); clearTimeout(t); }
});
c.on('connect', () => c.subscribe('building/#', { qos: 1 }, () =>
  console.log('subscribed')));
const t = setTimeout(() => { console.log(JSON.stringify(got)); process.exit(1); },
  20000);
"""
    # Three topics (within the maximum), then ten (more than it).
    sent = [(LONG + "j%d" % (i % 3), str(i)) for i in range(15)] + \
        [(LONG + "k%d" % i, str(i)) for i in range(10)] + \
        [(LONG + "j%d" % (i % 3), str(i)) for i in range(6)]
    js = subprocess.Popen(["node", "-e", script, str(b.port),
                           str(len(sent))], cwd=HERE,
                          stdout=subprocess.PIPE, text=True)
    check(js.stdout.readline().strip() == "subscribed", "MQTT.js subscribed")
    p = Paho(b.port, "tapub4", v5=True)
    for t, m in sent:
        p.publish(t, m, qos=1)
    out, _ = js.communicate(timeout=30)
    check(js.returncode == 0, "MQTT.js got everything: %s" % out)
    check([tuple(x) for x in json.loads(out)] == sent,
          "on the right topics: %s" % out)
    check(b.stat("topic_aliases.used") > 0, "aliases were used")
    p.close()
