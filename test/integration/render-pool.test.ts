// The render pool (workers/execution/render-pool.ts) with real worker threads: a hook's templates
// render off the event loop under one budget for all fields; hostile templates fail naming the
// limit while the event loop keeps answering; the caps on fields and sizes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Handler } from '../../shared/resources.js';
import { RenderPool } from '../../workers/execution/render-pool.js';
import { renderHandler } from '../../workers/execution/render-handler.js';
import { SEED_SUMMARY } from '../fixtures/execution/seed-summary.js';
import { failure } from '../fixtures/execution/expect-failure.js';

/** Nested loops Liquid walks for seconds (each field alone stops at liquidjs' renderLimit). */
export const HEAVY = '{% for a in (1..3000) %}{% for b in (1..3000) %}{{ b }}{% endfor %}{% endfor %}';

const pool = new RenderPool({ size: 2, limits: { budgetMs: 1000 } });
test.after(() => pool.close());

test('renders exactly what renderHandler renders, in a worker thread', async () => {
  const h: Handler = {
    exec: { command: ['sh', '-c', 'echo {{ .Status.Phase }} {{ .Namespace }}'] },
    httpPost: {
      host: 'h',
      port: 80,
      path: '/x/{{ .Name }}',
      httpHeaders: [{ name: 'X-A', value: '{{ .Status.Phase }}' }],
      body: '{{ .Status.Error }}',
      form: [{ key: 'k', values: ['{{ .Name }}'] }],
    },
  };
  assert.equal(await pool.render(h, SEED_SUMMARY), renderHandler(h, SEED_SUMMARY));
});

test('a template error crosses the thread as a TemplateError naming the field', async () => {
  const err = await failure(pool.render({ httpPost: { host: 'h', port: 80, body: '{{ .Status.Eror }}' } }, SEED_SUMMARY));
  assert.is(err.code, 'ERR_TEMPLATE');
  assert.is(
    err.message,
    "template error in httpPost.body, line 1, col 4: can't evaluate field Eror in type v1beta1.TargetStatus at <.Status.Eror> (did you mean Error?)",
  );
});

test('20 heavy fields fail on the per-hook budget while the event loop keeps ticking', async () => {
  const h: Handler = { exec: { command: Array.from({ length: 20 }, () => HEAVY) } };
  let last = Date.now();
  let worstGapMs = 0;
  const ticker = setInterval(() => {
    worstGapMs = Math.max(worstGapMs, Date.now() - last);
    last = Date.now();
  }, 20);
  const started = Date.now();
  const err = await failure(pool.render(h, SEED_SUMMARY));
  const tookMs = Date.now() - started;
  clearInterval(ticker);
  assert.is(err.code, 'ERR_TEMPLATE');
  assert.is(err.message, 'rendering the templates of this hook took more than the budget of 1000 ms (all fields together); simplify its loops');
  assert.ok(tookMs < 3000, `failed after ${tookMs} ms (20 fields in-line take ~40 s)`);
  assert.ok(worstGapMs < 200, `the event loop stalled for ${worstGapMs} ms`);
  // The terminated thread was replaced: the pool still renders.
  assert.equal(await pool.render({ exec: { command: ['{{ .Name }}'] } }, SEED_SUMMARY), { exec: { command: [SEED_SUMMARY.name] } });
});

test('caps on field count, template size and rendered size name the limit', async () => {
  const many = await failure(pool.render({ exec: { command: Array.from({ length: 65 }, () => 'x') } }, SEED_SUMMARY));
  assert.is(many.code, 'ERR_TEMPLATE');
  assert.is(many.message, 'this hook has 65 templated fields, over the limit of 64 per hook');
  const big = await failure(pool.render({ httpPost: { host: 'h', port: 80, body: 'x'.repeat(70_000) } }, SEED_SUMMARY));
  assert.is(big.message, 'the templates of this hook are 70000 bytes, over the limit of 65536 bytes per hook');
  const small = new RenderPool({ size: 1, limits: { maxOutputBytes: 10_000 } });
  try {
    const out = await failure(small.render({ httpPost: { host: 'h', port: 80, body: '{% for a in (1..2000) %}{{ .Name }}{% endfor %}' } }, SEED_SUMMARY));
    assert.match(out.message, /^rendered templates of this hook are \d+ bytes, over the limit of 10000 bytes per hook$/);
  } finally {
    await small.close();
  }
});

test('renders wait for a free thread and each gets its own budget', async () => {
  const quick: Handler = { exec: { command: ['{{ .Name }}'] } };
  const hostile: Handler = { exec: { command: [HEAVY, HEAVY] } };
  const results = await Promise.allSettled([pool.render(hostile, SEED_SUMMARY), pool.render(hostile, SEED_SUMMARY), pool.render(quick, SEED_SUMMARY)]);
  assert.equal(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'fulfilled'],
  );
});

test.run();
