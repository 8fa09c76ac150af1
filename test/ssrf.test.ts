/** The SSRF guard: address classification, the connect-time lookup, and refusals at delivery time. */
import assert from 'node:assert/strict';
import { AddressPolicy, urlProblems } from '../src/webhooks/ssrf.js';
import { Sender } from '../src/webhooks/sender.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

describe('SSRF guard', () => {
  const none = new AddressPolicy([]);

  const refused = [
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '169.254.0.1',
    '100.64.0.1',
    '100.100.100.200',
    '224.0.0.251',
    '255.255.255.255',
    '192.0.2.10',
    '198.18.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::1',
    '2001:db8::1',
    // IPv4-compatible forms (::/96) of refused IPv4 addresses, as written and as URLs normalise them.
    '::127.0.0.1',
    '::7f00:1',
    '0:0:0:0:0:0:127.0.0.1',
    '::10.0.0.1',
    '::a00:1',
    '::169.254.169.254',
    '::a9fe:a9fe',
    '::192.168.1.1',
    '::100.64.0.1',
    '::ffff:0:7f00:1',
    '64:ff9b:1::a00:1',
  ];
  for (const a of refused) {
    it(`refuses ${a}`, () => assert.ok(none.refusal(a), `${a} passed`));
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '211.43.2.1', '2606:4700:4700::1111']) {
    it(`allows the public address ${a}`, () => assert.equal(none.refusal(a), undefined));
  }

  it('lets WEBHOOK_ALLOW_NETWORKS open a range, IPv4-mapped forms included, and nothing more', () => {
    const p = new AddressPolicy(['127.0.0.0/8', '::1/128']);
    assert.equal(p.refusal('127.0.0.1'), undefined);
    assert.equal(p.refusal('::ffff:127.0.0.1'), undefined);
    assert.equal(p.refusal('::1'), undefined);
    assert.ok(p.refusal('10.0.0.1'));
    assert.ok(p.refusal('169.254.169.254'));
  });

  it('checks URLs without DNS: scheme, credentials, length, literal addresses, local names', () => {
    assert.deepEqual(urlProblems('https://hooks.example.kr/ax', none, true), []);
    assert.ok(urlProblems('javascript:alert(1)', none, false).length);
    assert.ok(urlProblems('https://a:b@hooks.example.kr/', none, false).length);
    assert.ok(urlProblems('https://hooks.example.kr/#frag', none, false).length);
    assert.ok(urlProblems(`https://x.kr/${'a'.repeat(2100)}`, none, false).length);
    assert.ok(urlProblems('http://0x7f.1/', none, false).length, 'hex IPv4 normalises to 127.0.0.1');
    assert.ok(urlProblems('http://[::ffff:7f00:1]/', none, false).length);
    assert.ok(urlProblems('http://metadata.google.internal/', none, false).length);
    assert.ok(urlProblems('http://api.localhost/', none, false).length);
  });

  it('refuses IPv4-compatible literals in URLs, e.g. http://[::127.0.0.1]/', () => {
    for (const host of ['[::127.0.0.1]', '[::7f00:1]', '[::169.254.169.254]', '[::10.0.0.1]', '[0::0:127.0.0.1]']) {
      assert.ok(urlProblems(`http://${host}/hooks`, none, false).length, host);
    }
  });

  it('the lookup refuses IPv4-compatible addresses as resolved at delivery', async () => {
    for (const a of ['::7f00:1', '::127.0.0.1', '::a9fe:a9fe']) {
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
        none.lookup(a, { all: true }, (e) => resolve(e)),
      );
      assert.equal(err?.code, 'ESSRF', a);
    }
  });

  it('the lookup refuses a name that resolves to loopback', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      none.lookup('localhost', { all: true }, (e) => resolve(e)),
    );
    assert.equal(err?.code, 'ESSRF');
  });

  describe('at delivery time', () => {
    let receiver: WebhookReceiver;
    beforeEach(async () => {
      receiver = await new WebhookReceiver().start();
    });
    afterEach(() => receiver.stop());

    it('refuses a literal internal address and a DNS name resolving to one, without connecting', async () => {
      const sender = new Sender({ policy: none, timeoutMs: 1000, connectTimeoutMs: 500 });
      try {
        const literal = await sender.send(receiver.url, {}, '{}');
        assert.match(literal.error ?? '', /^refused: 127\.0\.0\.1 is a loopback address/);
        const named = await sender.send(`http://localhost:${receiver.port}/hooks`, {}, '{}');
        assert.match(named.error ?? '', /^refused: localhost resolves to/);
        assert.equal(receiver.received.length + receiver.rejected.length, 0);
      } finally {
        await sender.close();
      }
    });

    it('a line of requests checks each new URL, and its deadline starts afresh for each request', async () => {
      const sender = new Sender({
        policy: new AddressPolicy(['127.0.0.0/8']),
        timeoutMs: 2000,
        connectTimeoutMs: 1000,
      });
      const line = sender.line();
      receiver.behaviour = (n) => (n === 0 ? 'hang' : 'ok');
      try {
        assert.match((await line.send(receiver.url, {}, '{}')).error ?? '', /^timeout/);
        // The deadline that cut the first request does not cut the next, nor does its checked URL pass another.
        // (Unsigned, so the receiver answers 400: what matters is that an answer came.)
        const next = await line.send(receiver.url, {}, '{}');
        assert.equal(next.statusCode, 400);
        assert.equal(next.error, null);
        const other = await line.send(`http://10.0.0.1:${receiver.port}/hooks`, {}, '{}');
        assert.match(other.error ?? '', /^refused: /);
        assert.equal((await line.send(receiver.url, {}, '{}')).statusCode, 400);
      } finally {
        line.close();
        await sender.close();
      }
    });

    it('refuses an IPv4-compatible literal pointing at the receiver, without connecting', async () => {
      const sender = new Sender({ policy: none, timeoutMs: 1000, connectTimeoutMs: 500 });
      try {
        const r = await sender.send(`http://[::127.0.0.1]:${receiver.port}/hooks`, {}, '{}');
        assert.match(r.error ?? '', /^refused: /);
        assert.equal(receiver.received.length + receiver.rejected.length, 0);
      } finally {
        await sender.close();
      }
    });

    it('connects when the allow-list covers the address the name resolves to', async () => {
      const sender = new Sender({
        policy: new AddressPolicy(['127.0.0.0/8', '::1/128']),
        timeoutMs: 1000,
        connectTimeoutMs: 500,
      });
      try {
        const r = await sender.send(`http://localhost:${receiver.port}/hooks`, {}, '{}');
        // Unsigned, so the receiver refuses it, but it did arrive.
        assert.equal(r.statusCode, 400);
      } finally {
        await sender.close();
      }
    });

    it('does not follow a redirect to the metadata service', async () => {
      receiver.behaviour = () => 'redirect';
      const sender = new Sender({ policy: new AddressPolicy(['127.0.0.0/8']), timeoutMs: 1000, connectTimeoutMs: 500 });
      try {
        const r = await sender.send(receiver.url, {}, '{}');
        assert.equal(r.statusCode, 302);
        assert.equal(r.error, null);
      } finally {
        await sender.close();
      }
    });
  });
});
