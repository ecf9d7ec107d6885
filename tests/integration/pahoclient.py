# A paho-mqtt client (Debian's python3-paho-mqtt) that records what it
# receives, with waits on conditions instead of sleeps.

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from harness import check, wait_for


class Paho:
    def __init__(self, port, client_id="", v5=False, clean=True,
                 keepalive=60, will=None, props=None, userdata=None,
                 username=None, password=None):
        self.v5 = v5
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        if v5:
            self.c = mqtt.Client(client_id=client_id, protocol=proto)
        else:
            self.c = mqtt.Client(client_id=client_id, protocol=proto,
                                 clean_session=clean)
        self.lock = threading.Lock()
        self.msgs = []
        self.connack = None
        self.connack_props = None
        self.disconnected = None
        self.subacks = {}
        self.pubacks = {}
        self.c.on_message = self._on_message
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        self.c.on_subscribe = self._on_subscribe
        self.c.on_publish = self._on_publish
        if will is not None:
            topic, payload, qos, retain, wprops = (list(will) + [None])[:5]
            self.c.will_set(topic, payload, qos, retain, properties=wprops)
        if username is not None:
            self.c.username_pw_set(username, password)
        kw = {"keepalive": keepalive}
        if v5:
            kw["clean_start"] = clean
            if props is not None:
                kw["properties"] = props
        self.c.connect("127.0.0.1", port, **kw)
        self.c.loop_start()
        wait_for(lambda: self.connack is not None, 10, "CONNACK")

    def _on_connect(self, c, u, flags, rc, props=None):
        self.connack = rc
        self.connack_props = props
        self.session_present = flags.get("session present")

    def _on_disconnect(self, c, u, rc, props=None):
        self.disconnected = rc

    def _on_message(self, c, u, msg):
        with self.lock:
            self.msgs.append(msg)

    def _on_subscribe(self, c, u, mid, granted, props=None):
        self.subacks[mid] = granted

    def _on_publish(self, c, u, mid):
        self.pubacks[mid] = True

    def subscribe(self, topic, qos=0, options=None, props=None):
        if self.v5:
            if options is None:
                options = mqtt.SubscribeOptions(qos=qos)
            r, mid = self.c.subscribe(topic, options=options,
                                      properties=props)
        else:
            r, mid = self.c.subscribe(topic, qos)
        check(r == 0, "subscribe: %d" % r)
        wait_for(lambda: mid in self.subacks, 10, "SUBACK")
        return self.subacks[mid]

    def publish(self, topic, payload, qos=0, retain=False, props=None,
                wait=True):
        info = self.c.publish(topic, payload, qos, retain,
                              properties=props)
        if wait and qos > 0:
            wait_for(lambda: info.mid in self.pubacks, 10, "PUBACK")
        return info

    def wait_msgs(self, n, timeout=10):
        wait_for(lambda: len(self.msgs) >= n, timeout,
                 "%d messages (have %d)" % (n, len(self.msgs)))
        return self.msgs

    def payloads(self):
        with self.lock:
            return [m.payload for m in self.msgs]

    def close(self, disconnect=True):
        if disconnect:
            self.c.disconnect()
        self.c.loop_stop()


def props(kind, **kw):
    p = Properties(getattr(PacketTypes, kind))
    for k, v in kw.items():
        setattr(p, k, v)
    return p
