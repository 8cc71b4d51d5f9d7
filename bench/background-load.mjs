// Steady background load for benchmarks, in its own process so it does not share a CPU queue with what is measured.
// Usage: node bench/background-load.mjs BROKERS TOPIC EVENTS_PER_SECOND SECONDS
// Sends CloudTrail-sized benign records (reads and writes by app services in production), event time = now.
import { Kafka, logLevel, Partitioners } from 'kafkajs';

const [brokers, topic, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const kafka = new Kafka({ clientId: 'bench-load', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();

const template = (i, now) => JSON.stringify({
  eventVersion: '1.08',
  userIdentity: { type: 'AssumedRole', principalId: `AROAAPP${i % 50}:s`, arn: `arn:aws:sts::111111111111:assumed-role/app-${i % 50}/s`, accountId: '111111111111',
    sessionContext: { sessionIssuer: { type: 'Role', arn: `arn:aws:iam::111111111111:role/app-${i % 50}`, accountId: '111111111111', userName: `app-${i % 50}` } } },
  eventTime: new Date(now).toISOString(), eventSource: 's3.amazonaws.com', eventName: i % 4 === 0 ? 'PutObject' : 'GetObject',
  awsRegion: 'us-east-1', sourceIPAddress: '10.0.0.1', userAgent: 'aws-sdk-go-v2/1.24.0',
  requestParameters: { bucketName: `prod-app-${i % 50}`, key: `objects/${i}/data.json`, 'x-amz-acl': 'private' },
  responseElements: null, requestID: `bg-req-${i}`, eventID: `bg-${process.pid}-${i}`, readOnly: i % 4 !== 0,
  eventType: 'AwsApiCall', managementEvent: false, recipientAccountId: '111111111111',
  tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', clientProvidedHostHeader: 's3.us-east-1.amazonaws.com' },
});

const tickMs = 50;
const perTick = Math.round((rate * tickMs) / 1000);
const started = Date.now();
let sent = 0;
let i = 0;
// SIGTERM ends the load early (the measurement is done) and still reports the rate achieved.
let stopped = false;
process.once('SIGTERM', () => (stopped = true));
while (!stopped && Date.now() - started < seconds * 1000) {
  const due = Math.floor(((Date.now() - started) / 1000) * rate);
  if (sent < due) {
    // Catch up in sends of at most 700 records (~650 KB), under the broker's 1 MB request limit.
    const n = Math.min(perTick * 4, due - sent);
    const now = Date.now();
    const sends = [];
    for (let done = 0; done < n; done += 700) {
      const messages = [];
      for (let k = done; k < Math.min(n, done + 700); k++) messages.push({ value: template(i++, now) });
      sends.push(producer.send({ topic, messages }));
    }
    await Promise.all(sends);
    sent += n;
  } else {
    await new Promise((r) => setTimeout(r, tickMs / 2));
  }
}
await producer.disconnect();
process.stdout.write(JSON.stringify({ sent, seconds: (Date.now() - started) / 1000, rate: sent / ((Date.now() - started) / 1000) }) + '\n');
