// The dashboard as a person sees it, in headless Chromium (Debian's `chromium` driven by
// playwright-core): log in, find the hook queues, open a completed hook job and read its result.
// Saves the screenshot used in docs/operations.md (UPDATE_DOCS_SCREENSHOT=1 refreshes docs/dashboard.png).
//
// Skipped when no Chromium binary is installed (`apt-get install -y chromium`; .ci/run installs it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../dashboard/dashboard.js';
import { isLoopbackHost } from '../../dashboard/auth.js';
import { chromiumUnavailable, skipUnless } from '../helpers/skip.js';
import { hookJobId, hookJobName, type HookJobData, type HookJobResult } from '../../shared/queues.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// docs/dashboard.png is rewritten only when asked (or missing), so test runs leave the tree clean.
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const SCREENSHOT = process.env.UPDATE_DOCS_SCREENSHOT === '1' || !existsSync(DOCS_SCREENSHOT) ? DOCS_SCREENSHOT : join(tmpdir(), 'stash-hooks-dashboard.png');
const REDIS = { host: '127.0.0.1', port: 6379 };
const prefix = `sh-test-browser-${randomBytes(4).toString('hex')}`;
const USER = 'ops';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const SECRET_OUTPUT = 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.s3cr3t';

const session = { kind: 'BackupSession', namespace: 'demo', name: 'app-backup-1700000000', uid: '6f1c2c1e-9a0b-4f5e-8d7c-2b1a0c9d8e7f' } as const;
const jobs: Array<{ queue: string; data: HookJobData; result: HookJobResult | Error }> = [
  {
    queue: 'pre-backup',
    data: { session, hook: 'preBackup', scope: 'local', targetIndex: 0, target: { kind: 'Deployment', name: 'app' } },
    result: {
      outcome: 'succeeded',
      message: 'Successfully executed preBackup hook.',
      hosts: [
        { where: 'demo/app-7d4b9c-x2x9z', exitCode: 0, durationMs: 41, output: `flushed tables; ${SECRET_OUTPUT}` },
        { where: 'demo/app-7d4b9c-q8k2m', exitCode: 0, durationMs: 38, output: 'flushed tables' },
      ],
      durationMs: 44,
    },
  },
  {
    queue: 'post-backup',
    data: { session, hook: 'postBackup', scope: 'local', targetIndex: 0, target: { kind: 'Deployment', name: 'app' } },
    result: {
      outcome: 'succeeded',
      message: 'Successfully executed postBackup hook.',
      hosts: [{ where: 'http://127.0.0.1:8080/unlock', statusCode: 200, durationMs: 9, output: 'unlocked' }],
      durationMs: 10,
    },
  },
  {
    queue: 'post-backup',
    data: { session: { ...session, name: 'app-backup-1700003600', uid: '0a9b8c7d-1e2f-4a5b-9c8d-7e6f5a4b3c2d' }, hook: 'postBackup', scope: 'global' },
    result: new Error('Failed to execute global PostBackup Hook. Reason: POST http://127.0.0.1:9/notify: connect ECONNREFUSED'),
  },
];

let redis: Redis;
let dashboard: Dashboard | undefined;
let browser: Browser | undefined;

async function seed(): Promise<void> {
  for (const queueName of new Set(jobs.map((j) => j.queue))) {
    const mine = jobs.filter((j) => j.queue === queueName);
    const queue = new Queue(queueName, { connection: REDIS, prefix });
    const worker = new Worker<HookJobData, HookJobResult>(
      queueName,
      async (job) => {
        const spec = mine.find((j) => hookJobId(j.data) === job.id)!;
        if (spec.result instanceof Error) throw spec.result;
        return spec.result;
      },
      { connection: { ...REDIS, maxRetriesPerRequest: null }, prefix, autorun: false },
    );
    let settled = 0;
    const done = new Promise<void>((resolve) => {
      const tick = () => ++settled === mine.length && resolve();
      worker.on('completed', tick);
      worker.on('failed', tick);
    });
    for (const j of mine) await queue.add(hookJobName(j.data), j.data, { jobId: hookJobId(j.data) });
    void worker.run();
    await done;
    await worker.close();
    await queue.close();
  }
}

async function deleteMyKeys(): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

const chromiumWhy = chromiumUnavailable(CHROMIUM);
const haveChromium = chromiumWhy === undefined;

test.before(async () => {
  if (!haveChromium) return;
  redis = new Redis(REDIS);
  await seed();
  dashboard = await startDashboard({
    connection: `redis://${REDIS.host}:${REDIS.port}`,
    prefix,
    host: '127.0.0.1',
    port: 0,
    auth: { user: USER, password: PASSWORD },
    discoverIntervalMs: 0,
  });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

test.after(async () => {
  if (!haveChromium) return;
  await browser?.close();
  await dashboard?.close();
  await deleteMyKeys();
  redis.disconnect();
});

/** A browser context that may talk to loopback only: anything else is aborted and recorded. */
async function newContext(credentials?: { username: string; password: string }) {
  const context = await browser!.newContext({ httpCredentials: credentials, viewport: { width: 1400, height: 1000 } });
  const offHost: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || isLoopbackHost(url.hostname)) return route.continue();
    offHost.push(url.href);
    return route.abort('blockedbyclient');
  });
  return { context, offHost };
}

// Without Chromium the browser tests register nothing and the file says why (uvu leaves skipped
// tests out of its Total, which test/run.mjs would turn into negative failures).
const run = skipUnless(chromiumWhy);

run('without or with wrong credentials the browser is refused and sees no board', async () => {
  for (const credentials of [undefined, { username: USER, password: 'wrong' }]) {
    const { context } = await newContext(credentials);
    try {
      const page = await context.newPage();
      // Headless Chromium has no login prompt: a Basic challenge it cannot answer ends the
      // navigation with ERR_INVALID_AUTH_CREDENTIALS; a browser that shows the 401 page is fine too.
      const outcome = await page.goto(dashboard!.url).then(
        async (response) => ({ status: String(response?.status()), body: (await response?.text()) ?? '' }),
        (err: Error) => ({ status: /ERR_INVALID_AUTH_CREDENTIALS/.test(err.message) ? 'refused' : err.message, body: '' }),
      );
      assert.ok(outcome.status === 'refused' || outcome.status === '401', `navigation ended with ${outcome.status}`);
      assert.not.match(outcome.body, 'pre-backup');
    } finally {
      await context.close();
    }
  }
});

run('logged in, a person sees the hook queues and a completed hook job with its result', async () => {
  const { context, offHost } = await newContext({ username: USER, password: PASSWORD });
  try {
    const page = await context.newPage();
    const response = await page.goto(dashboard!.url);
    assert.is(response?.status(), 200);
    const sidebar = page.locator('nav, aside').first();
    for (const name of ['pre-backup', 'post-backup', 'pre-restore', 'post-restore', 'lifecycle', 'coordinator']) {
      await sidebar.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
    }

    await page.goto(`${dashboard!.url}queue/pre-backup?status=completed`);
    const jobName = page.getByText('preBackup demo/app-backup-1700000000 Deployment/app', { exact: true });
    await jobName.waitFor({ timeout: 15_000 });
    await page.getByText('Successfully executed preBackup hook.').first().waitFor({ timeout: 15_000 });
    const text = await page.locator('body').innerText();
    assert.match(text, hookJobId(jobs[0].data), 'the job id is shown');
    assert.match(text, 'outcome');
    assert.not.match(await page.content(), 's3cr3t', 'the secret in the hook output never reaches the page');

    // Open the collapsed parts of the result (the hosts) as a person would, and read them.
    const expanders = page.locator('[aria-label="expand JSON"]');
    for (let i = 0; i < 20 && (await expanders.count()) > 0; i++) await expanders.first().click();
    await page.getByText('"demo/app-7d4b9c-x2x9z"').first().waitFor({ timeout: 15_000 });
    await page.getByText('"flushed tables; Authorization: Bearer [redacted]"').first().waitFor({ timeout: 15_000 });

    // Bring the result into view for the screenshot.
    await page
      .getByText('returnValue')
      .first()
      .evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: SCREENSHOT });

    // The failed global post hook shows its reason on the failed tab.
    await page.goto(`${dashboard!.url}queue/post-backup?status=failed`);
    await page.getByText('postBackup demo/app-backup-1700003600 global', { exact: true }).waitFor({ timeout: 15_000 });

    assert.equal(offHost, [], 'the page tried to load something from outside this machine');
  } finally {
    await context.close();
  }
});

run("with actions allowed, the board's own Retry button works through the CSRF guard", async () => {
  const actions = await startDashboard({
    connection: `redis://${REDIS.host}:${REDIS.port}`,
    prefix,
    host: '127.0.0.1',
    port: 0,
    auth: { user: USER, password: PASSWORD },
    allowActions: true,
    discoverIntervalMs: 0,
  });
  const { context } = await newContext({ username: USER, password: PASSWORD });
  const queue = new Queue('post-backup', { connection: REDIS, prefix });
  try {
    const page = await context.newPage();
    const puts: Array<{ url: string; status: number; csrf?: string; type?: string }> = [];
    page.on('response', (r) => {
      if (r.request().method() === 'PUT') {
        const h = r.request().headers();
        puts.push({ url: r.url(), status: r.status(), csrf: h['x-stash-hooks-csrf'], type: h['content-type'] });
      }
    });
    await page.goto(`${actions.url}queue/post-backup?status=failed`);
    await page.getByText('postBackup demo/app-backup-1700003600 global', { exact: true }).waitFor({ timeout: 15_000 });
    assert.is((await queue.getJobCounts('failed')).failed, 1);
    await page.getByRole('button', { name: 'Retry all' }).click();
    // The 'response' listener runs when the answer reaches the page, which can be after the queue changed.
    const retried = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith('/retry/failed'), { timeout: 15_000 });
    await page.getByRole('button', { name: 'Confirm' }).click();
    await retried;
    for (let i = 0; i < 50 && (await queue.getJobCounts('failed')).failed > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.is((await queue.getJobCounts('failed')).failed, 0, `the UI's retry reached the queue: ${JSON.stringify(puts)}`);
    const retry = puts.find((p) => p.url.endsWith('/retry/failed'));
    assert.ok(retry, `a PUT .../retry/failed was sent: ${JSON.stringify(puts)}`);
    assert.equal([retry!.status, retry!.csrf, retry!.type], [200, '1', 'application/json']);
    // The same call as bull-board's axios makes it, without the script's additions (the
    // original XMLHttpRequest of a fresh frame), is refused: what a foreign page could send.
    const bare = await page.evaluate(async (url) => {
      const frame = document.createElement('iframe');
      document.body.appendChild(frame);
      const Xhr = (frame.contentWindow as unknown as { XMLHttpRequest: typeof XMLHttpRequest }).XMLHttpRequest;
      const x = new Xhr();
      return new Promise<number>((resolve) => {
        x.onload = () => resolve(x.status);
        x.onerror = () => resolve(-1);
        x.open('PUT', url);
        x.send();
      });
    }, `${actions.url}api/queues/post-backup/retry/failed`);
    assert.is(bare, 403);
  } finally {
    await queue.close();
    await context.close();
    await actions.close();
  }
});

test.run();
