// Pure helpers of the execution engine: URLs, form encoding, body/Content-Type choice, output
// capping and redaction, bounded fan-out and its combined failure messages, selectors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HookFailedError, HookTimeoutError, KubernetesApiError } from '../../shared/errors.js';
import { fanOut, mapBounded } from '../../workers/execution/fan-out.js';
import { buildUrl, detectContentType, encodeForm, requestBody } from '../../workers/execution/http-action.js';
import { CappedBuffer, redact, tail } from '../../workers/execution/output.js';
import { selectorString } from '../../workers/execution/targeting.js';

test('buildUrl: empty scheme is http, HTTPS is https, path made absolute, IPv6 bracketed', () => {
  assert.is(buildUrl({ host: '127.0.0.3', port: 8080, path: '/ready' }).toString(), 'http://127.0.0.3:8080/ready');
  assert.is(buildUrl({ host: 'h', port: 80, scheme: '', path: 'x?y=1' }).toString(), 'http://h/x?y=1');
  assert.is(buildUrl({ host: 'h', port: 8443, scheme: 'HTTPS' }).toString(), 'https://h:8443/');
  assert.is(buildUrl({ host: '::1', port: 9000, path: '/a b' }).toString(), 'http://[::1]:9000/a%20b');
});

test('encodeForm: keys sorted, values in order, Go url.QueryEscape; a repeated key keeps its last entry (prober toValues)', () => {
  assert.is(
    encodeForm([
      { key: 'b', values: ['2'] },
      { key: 'a', values: ['x y', "it's*~"] },
      { key: 'b', values: ['3', '4'] },
    ]),
    'a=x+y&a=it%27s%2A~&b=3&b=4',
  );
  assert.is(
    encodeForm([
      { key: 'a', values: ['1'] },
      { key: 'a', values: [] },
    ]),
    '',
  );
  assert.is(encodeForm([{ key: 'ключ', values: ['a&b=c'] }]), '%D0%BA%D0%BB%D1%8E%D1%87=a%26b%3Dc');
  assert.is(encodeForm([]), '');
});

test('requestBody: form wins, user Content-Type kept, JSON detected', () => {
  assert.equal(requestBody({ body: '{}', form: [{ key: 'k', values: ['v'] }] }, false), { body: 'k=v', contentType: 'application/x-www-form-urlencoded' });
  assert.equal(requestBody({ body: '{}', form: [{ key: 'k', values: ['v'] }] }, true), { body: 'k=v', contentType: undefined });
  assert.equal(requestBody({ body: '[1, 2]' }, false), { body: '[1, 2]', contentType: 'application/json' });
  assert.equal(requestBody({ body: 'hello' }, false), { body: 'hello', contentType: 'text/plain; charset=utf-8' });
  assert.equal(requestBody({ body: 'hello' }, true), { body: 'hello' });
  assert.equal(requestBody({ body: '' }, false), {});
  assert.equal(requestBody({ form: [], body: 'x' }, false), { body: 'x', contentType: 'text/plain; charset=utf-8' });
});

test("detectContentType: Stash's detector — JSON only for objects and arrays, HTML, XML, else text", () => {
  const cases: Array<[string, string]> = [
    ['{"a":1}', 'application/json'],
    ['  \n[1, 2]', 'application/json'],
    ['42', 'text/plain; charset=utf-8'],
    ['"just a string"', 'text/plain; charset=utf-8'],
    ['true', 'text/plain; charset=utf-8'],
    ['{not json', 'text/plain; charset=utf-8'],
    ['<html><body>x</body></html>', 'text/html; charset=utf-8'],
    ['<!DOCTYPE html>\n<p>x', 'text/html; charset=utf-8'],
    ['\n <P>hi</P>', 'text/html; charset=utf-8'],
    ['<a href="x">y</a>', 'text/html; charset=utf-8'],
    ['<abbr>x</abbr>', 'text/plain; charset=utf-8'],
    ['<?xml version="1.0"?><a/>', 'text/xml; charset=utf-8'],
    ['\uFEFF <html>x</html>', 'text/html; charset=utf-8'],
    ['hello', 'text/plain; charset=utf-8'],
    ['a\u0001b', 'application/octet-stream'],
  ];
  for (const [body, want] of cases) assert.is(detectContentType(body), want, body);
  assert.equal(requestBody({ body: '<p>done</p>' }, false), { body: '<p>done</p>', contentType: 'text/html; charset=utf-8' });
  assert.equal(requestBody({ body: '42' }, false), { body: '42', contentType: 'text/plain; charset=utf-8' });
});

test('CappedBuffer keeps the first 10 KiB and counts the rest', () => {
  const b = new CappedBuffer();
  b.push('a'.repeat(6000));
  assert.not.ok(b.full);
  b.push(Buffer.from('b'.repeat(6000)));
  assert.ok(b.full);
  b.push('c');
  assert.is(b.toString(), 'a'.repeat(6000) + 'b'.repeat(4240));
  assert.is(b.total, 12001);
});

test('redact replaces every secret, longest first; tail keeps the end', () => {
  assert.is(redact('token=abc123 again abc123 and abc', ['abc', 'abc123', '']), 'token=[REDACTED] again [REDACTED] and [REDACTED]');
  assert.is(redact('nothing', []), 'nothing');
  assert.is(tail('  short \n'), 'short');
  assert.is(tail('x'.repeat(10) + 'END', 5), '…xxEND');
});

test('mapBounded never runs more than the bound at once and keeps order', async () => {
  let running = 0;
  let peak = 0;
  const out = await mapBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setImmediate(r));
    running--;
    if (n === 4) throw new Error('four');
    return n * 10;
  });
  assert.is(peak, 3);
  assert.equal(
    out.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [10, 20, 30, 'four', 50, 60, 70],
  );
});

test('fanOut: one host rethrows as is, several are listed, infrastructure wins', async () => {
  const one = new HookFailedError('exec in pod demo/a container c exited with code 3: x', { action: 'exec' });
  const err1 = await fanOut('exec', ['a'], 2, async () => {
    throw one;
  }).catch((e) => e);
  assert.is(err1, one);
  const err2 = await fanOut('httpGet', ['a', 'b', 'c'], 2, async (h) => {
    if (h === 'b') return 'ok';
    throw new HookFailedError(`HTTP GET http://${h}/ returned 503`, { action: 'httpGet' });
  }).catch((e) => e);
  assert.is(err2.message, 'httpGet failed on 2 of 3 hosts: HTTP GET http://a/ returned 503; HTTP GET http://c/ returned 503');
  assert.is(err2.code, 'ERR_HOOK_FAILED');
  const err3 = await fanOut('exec', ['a', 'b'], 2, async (h) => {
    throw new HookTimeoutError(`exec in ${h} timed out after 1s`, { action: 'exec' });
  }).catch((e) => e);
  assert.is(err3.code, 'ERR_HOOK_TIMEOUT');
  assert.is(err3.message, 'exec failed on 2 of 2 hosts: exec in a timed out after 1s; exec in b timed out after 1s');
  const infra = new KubernetesApiError('reading pods: 500 boom');
  const err4 = await fanOut('exec', ['a', 'b'], 2, async (h) => {
    throw h === 'a' ? new HookFailedError('x') : infra;
  }).catch((e) => e);
  assert.is(err4, infra);
  assert.equal(await fanOut('tcpSocket', ['a', 'b'], 1, async (h) => h.toUpperCase()), ['A', 'B']);
});

test('selectorString renders matchLabels and matchExpressions', () => {
  assert.is(
    selectorString({
      matchLabels: { app: 'db', tier: 'x' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['a', 'b'] },
        { key: 'zone', operator: 'NotIn', values: ['z'] },
        { key: 'has', operator: 'Exists' },
        { key: 'not', operator: 'DoesNotExist' },
      ],
    }),
    'app=db,tier=x,env in (a,b),zone notin (z),has,!not',
  );
  assert.is(selectorString(undefined), '');
});

test.run();
