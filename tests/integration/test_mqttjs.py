# MQTT.js, the JavaScript client, speaking MQTT 5 to brokerd.

import json
import os
import subprocess

from harness import broker, check

HERE = os.path.dirname(os.path.abspath(__file__))


def test_mqttjs_v5():
    b = broker().start()
    r = subprocess.run(["node", os.path.join(HERE, "mqttjs_check.js"),
                        str(b.port)], capture_output=True, text=True,
                       timeout=60, cwd=HERE)
    check(r.returncode == 0, "MQTT.js: %s %s" % (r.stdout, r.stderr))
    res = json.loads(r.stdout)
    got = sorted((m["topic"], m["payload"], m["qos"])
                 for m in res["received"])
    check(got == [("js/alias", "a1", 1), ("js/alias", "a2", 1),
                  ("js/q0", "qos0", 0), ("js/q1", "qos1", 1),
                  ("js/q2", "qos2", 2), ("js/retained", "kept", 1),
                  ("js/will", "bye", 1)], "received %s" % got)
    for m in res["received"]:
        check(m["subid"] == 42 or m["subid"] == [42],
              "subscription identifier on %s: %s" % (m["topic"], m))
        if m["topic"].startswith("js/q"):
            check(m["user"] == {"k": "v" + m["topic"][-1]},
                  "user property: %s" % m)
        check(not m["retain"], "live messages are not flagged retained")
    check(res["retained"] == {"topic": "js/retained", "payload": "kept",
                              "retain": True}, "retained: %s" %
          res["retained"])
    check(res["connack"].get("topicAliasMaximum") == 64,
          "CONNACK topic alias maximum: %s" % res["connack"])
