# The load generator against brokerd, briefly: under load, QoS 1 and 2
# lose nothing that was acknowledged, duplicate nothing, refuse nothing.

import json
import os
import subprocess

import harness
from harness import broker, check


def mqttbench(b, args):
    exe = os.path.join(harness.BUILD, "bench", "mqttbench")
    r = subprocess.run([exe, "-p", str(b.port), "-d", "1", "-w", "0.5"] +
                       args, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "mqttbench %s: %s" % (args, r.stderr))
    return json.loads(r.stdout.splitlines()[-1])


def test_no_loss_under_load():
    b = broker(extra="log level warning").start()
    for v in ("4", "5"):
        for qos in ("1", "2"):
            for topo in (["-P", "16", "-S", "1", "-T", "1"],
                         ["-P", "20", "-S", "20", "-T", "20"]):
                res = mqttbench(b, topo + ["-q", qos, "-V", v, "-s", "64"])
                what = "MQTT %s QoS %s %s: %s" % (v, qos, topo, res)
                check(res["delivered"] > 1000, "delivered " + what)
                check(res["lost"] == 0 and res["duplicates"] == 0,
                      "no loss, no duplicates: " + what)
                check(res["refused"] == 0, "nothing refused: " + what)
    check(b.stat("dropped.queue_full") == 0, "no drops")
