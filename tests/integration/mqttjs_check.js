// MQTT.js (v5) against brokerd: publish and subscribe at every QoS,
// properties, retained messages, topic aliases and a will.  Prints one
// JSON object with what it saw; the Python test checks it.
'use strict';
const mqtt = require('mqtt');

const port = Number(process.argv[2]);
const url = 'mqtt://127.0.0.1:' + port;
const result = { received: [], errors: [] };

function connect(opts) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, Object.assign({ protocolVersion: 5,
      reconnectPeriod: 0, connectTimeout: 5000 }, opts));
    c.once('connect', (ack) => resolve([c, ack]));
    c.once('error', reject);
  });
}

async function main() {
  const [sub, subAck] = await connect({ clientId: 'js-sub' });
  result.connack = subAck.properties || {};
  sub.on('message', (topic, payload, packet) => {
    const p = packet.properties || {};
    result.received.push({ topic, payload: payload.toString(),
      qos: packet.qos, retain: packet.retain,
      user: p.userProperties || null,
      subid: p.subscriptionIdentifier || null });
  });
  await sub.subscribeAsync('js/#', { qos: 2,
    properties: { subscriptionIdentifier: 42 } });
  const [pub] = await connect({ clientId: 'js-pub',
    properties: { topicAliasMaximum: 0 } });
  for (const qos of [0, 1, 2]) {
    await pub.publishAsync('js/q' + qos, 'qos' + qos, { qos,
      properties: { userProperties: { k: 'v' + qos } } });
  }
  // A topic alias set, then used with an empty topic.
  await pub.publishAsync('js/alias', 'a1', { qos: 1,
    properties: { topicAlias: 1 } });
  await pub.publishAsync('', 'a2', { qos: 1,
    properties: { topicAlias: 1 } });
  await pub.publishAsync('js/retained', 'kept', { qos: 1, retain: true });
  // A will, published when the socket goes without DISCONNECT.
  const [w] = await connect({ clientId: 'js-will',
    will: { topic: 'js/will', payload: Buffer.from('bye'), qos: 1 } });
  w.stream.destroy();
  await new Promise((resolve) => {
    const t = setInterval(() => {
      if (result.received.length >= 7) { clearInterval(t); resolve(); }
    }, 20);
    setTimeout(() => { clearInterval(t); resolve(); }, 10000);
  });
  // A new subscriber gets the retained message, flagged.
  const [late] = await connect({ clientId: 'js-late' });
  const got = new Promise((resolve) => late.once('message',
    (topic, payload, packet) => resolve({ topic,
      payload: payload.toString(), retain: packet.retain })));
  await late.subscribeAsync('js/retained', { qos: 1 });
  result.retained = await Promise.race([got,
    new Promise((r) => setTimeout(() => r(null), 5000))]);
  await Promise.all([sub.endAsync(), pub.endAsync(), late.endAsync()]);
}

main().then(() => {
  console.log(JSON.stringify(result));
  process.exit(0);
}, (err) => {
  result.errors.push(String(err));
  console.log(JSON.stringify(result));
  process.exit(1);
});
