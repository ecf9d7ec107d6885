# The load generator against brokerd, briefly: under load, QoS 1 and 2
# lose nothing that was acknowledged, duplicate nothing, refuse nothing;
# its closed-loop and fixed-rate modes, and the floor relay of make
# bench, still work.

import json
import os
import subprocess

import harness
from harness import broker, check


def mqttbench(b, args, port=None):
    exe = os.path.join(harness.BUILD, "bench", "mqttbench")
    port = port if port is not None else b.port
    r = subprocess.run([exe, "-p", str(port), "-d", "1", "-w", "0.5"] +
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
                check(res["delivered"] > 100, "delivered " + what)
                check(res["lost"] == 0 and res["duplicates"] == 0,
                      "no loss, no duplicates: " + what)
                check(res["refused"] == 0, "nothing refused: " + what)
    check(b.stat("dropped.queue_full") == 0, "no drops")


def closed_loop(port, b=None):
    """Closed loop: the window bounds what is in flight, nothing is lost,
    nothing written off."""
    for qos in ("0", "1", "2"):
        for v, topo in (("4", ["-P", "4", "-S", "1", "-T", "1"]),
                        ("4", ["-P", "1", "-S", "8", "-T", "1"]),
                        ("5", ["-P", "10", "-S", "10", "-T", "10"])):
            res = mqttbench(b, topo + ["-q", qos, "-V", v, "-s", "64",
                                       "-L", "100", "-d", "0.5", "-w",
                                       "0.2"], port=port)
            what = "MQTT %s QoS %s %s: %s" % (v, qos, topo, res)
            check(res["mode"] == "closed" and res["window"] == 100,
                  "closed loop " + what)
            # More than one window: the loop refilled.  (Speed is make
            # bench's business, not a test's: the machine may be busy.)
            check(res["delivered"] > 100, "delivered " + what)
            check(res["lost"] == 0 and res["duplicates"] == 0 and
                  res["written_off"] == 0,
                  "no loss, no duplicates: " + what)
            check(res["refused"] == 0, "nothing refused: " + what)


def test_closed_loop():
    b = broker(extra="log level warning").start()
    closed_loop(b.port, b)
    # A fixed rate, spread over its publishers: never more than was
    # asked (a busy machine may deliver less).
    res = mqttbench(b, ["-P", "10", "-S", "10", "-T", "10", "-q", "1",
                        "-r", "2000"])
    check(res["mode"] == "rate" and res["lost"] == 0 and
          100 < res["delivered"] < 2600, "fixed rate: %s" % res)


def test_floor_relay():
    port = harness.free_port()
    exe = os.path.join(harness.BUILD, "bench", "floor")
    p = subprocess.Popen([exe, "-p", str(port)], stderr=subprocess.PIPE)
    try:
        harness.wait_for(lambda: subprocess.run(
            ["sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/%d" % port],
            executable="/bin/bash").returncode == 0 or p.poll() is not None,
            what="the floor relay listens")
        check(p.poll() is None, "floor relay runs")
        closed_loop(port)
        # 16 KiB messages, more than one read each.
        res = mqttbench(None, ["-P", "10", "-S", "10", "-T", "10", "-q",
                               "0", "-s", "16384", "-L", "64"], port=port)
        check(res["delivered"] > 100 and res["lost"] == 0,
              "floor 16 KiB: %s" % res)
    finally:
        p.kill()
        p.wait()
