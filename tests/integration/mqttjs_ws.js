// MQTT.js over WebSocket against brokerd: connect to the URL given
// (ws:// or wss://, with a CA file for wss), subscribe, publish to
// ourselves at QoS 0 and 1, and print one JSON object with what came
// back.  Usage: node mqttjs_ws.js URL [CAFILE] [PROTOCOL_VERSION]
'use strict';
const fs = require('fs');
const mqtt = require('mqtt');

const url = process.argv[2];
const ca = process.argv[3] ? fs.readFileSync(process.argv[3]) : undefined;
const version = Number(process.argv[4] || 4);
const result = { received: [], errors: [] };

const c = mqtt.connect(url, { protocolVersion: version, reconnectPeriod: 0,
  connectTimeout: 5000, clientId: 'js-ws-' + process.pid, ca,
  rejectUnauthorized: true });
const timer = setTimeout(() => {
  result.errors.push('timeout');
  finish();
}, 15000);

function finish() {
  clearTimeout(timer);
  c.end(true);
  process.stdout.write(JSON.stringify(result) + '\n', () =>
    process.exit(0));
}

c.on('error', (e) => {
  result.errors.push(String(e));
  finish();
});
c.on('message', (topic, payload, packet) => {
  // Long payloads by length and a check of their bytes.
  const p = payload.toString();
  result.received.push({ topic, length: p.length,
    same: p === (topic === 'ws/b' ? 'x'.repeat(70000) :
      topic === 'ws/a' ? 'over websocket' : 'last'),
    qos: packet.qos });
  if (result.received.length === 3)
    finish();
});
c.on('connect', async () => {
  result.connected = true;
  await c.subscribeAsync('ws/#', { qos: 1 });
  await c.publishAsync('ws/a', 'over websocket', { qos: 0 });
  await c.publishAsync('ws/b', 'x'.repeat(70000), { qos: 1 });
  await c.publishAsync('ws/c', 'last', { qos: 1 });
});
