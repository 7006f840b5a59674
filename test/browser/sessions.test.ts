// The Sessions page as a person sees it, in headless Chromium (Debian's `chromium` driven by
// playwright-core), against the demo's sessions (`stash-hooks demo --keep` on devcluster): the
// list, the failing batch's timeline (the failed bar and its message, the policy-skipped post
// hook, the global post after every local post), keyboard use, a narrow screen, a live session
// drawn without a reload, and a 1,000-member session's render time.
// Saves docs/sessions.png (UPDATE_DOCS_SCREENSHOT=1 refreshes it).
//
// Skipped when no Chromium binary is installed (`apt-get install -y chromium`; .ci/run installs it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { isLoopbackHost } from '../../dashboard/auth.js';
import { hookCondition, gateCondition } from '../../shared/conditions.js';
import { startDemo, type DemoProcess } from '../helpers/demo-process.js';

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
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../docs/sessions.png', import.meta.url));
const SCREENSHOT = process.env.UPDATE_DOCS_SCREENSHOT === '1' || !existsSync(DOCS_SCREENSHOT) ? DOCS_SCREENSHOT : join(tmpdir(), 'stash-hooks-sessions.png');
const GROUP = { group: 'stash.appscode.com', version: 'v1beta1', namespace: 'demo' };

let demo: DemoProcess;
let browser: Browser | undefined;
let custom: CustomObjectsApi;

const haveChromium = existsSync(CHROMIUM);
const run: typeof test = haveChromium ? test : ((() => {}) as unknown as typeof test);
if (!haveChromium) process.stdout.write(`no Chromium at ${CHROMIUM}: browser tests skipped (apt-get install -y chromium)\n`);

test.before(async () => {
  if (!haveChromium) return;
  demo = await startDemo();
  const kc = new KubeConfig();
  kc.loadFromFile(demo.kubeconfig);
  custom = kc.makeApiClient(CustomObjectsApi);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

test.after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** A browser context that may talk to loopback only: anything else is aborted and recorded. */
async function newContext(viewport = { width: 1400, height: 900 }): Promise<{ context: BrowserContext; offHost: string[] }> {
  const context = await browser!.newContext({ viewport });
  const offHost: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || isLoopbackHost(url.hostname)) return route.continue();
    offHost.push(url.href);
    return route.abort('blockedbyclient');
  });
  return { context, offHost };
}

const sessionUrl = (kind: string, name: string) => `${demo.dashboardUrl}sessions/view/${kind}/demo/${name}`;
const bar = (page: Page, row: string, label: string) => page.locator(`.row:has(> .label[title="${row}"]) .bar[data-label="${label}"]`).first();

run('the list shows the demo sessions newest first, filters by phase, and links to bull-board and back', async () => {
  const { context, offHost } = await newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${demo.dashboardUrl}sessions`);
    await page.getByRole('link', { name: 'databases-demo' }).waitFor({ timeout: 20_000 });
    for (const name of ['app-backup-demo', 'databases-demo', 'app-restore']) assert.ok(await page.getByRole('link', { name }).isVisible(), name);
    await page.getByLabel('Phase').selectOption('Failed');
    await page.waitForFunction(() => !document.body.innerText.includes('app-restore'), undefined, { timeout: 10_000 });
    assert.ok(await page.getByRole('link', { name: 'databases-demo' }).isVisible());
    assert.match(page.url(), 'phase=Failed');
    // bull-board links to the Sessions page, the Sessions page to bull-board.
    await page.getByRole('link', { name: 'Queues (bull-board)' }).click();
    await page.getByText('pre-backup', { exact: true }).first().waitFor({ timeout: 20_000 });
    // bull-board shows its misc links in the menu at the end of its header actions.
    await page.locator('header ul li').last().locator('button').click();
    await page.getByText('Sessions', { exact: true }).first().click();
    await page.waitForURL(/\/sessions$/, { timeout: 20_000 });
    assert.equal(offHost, []);
  } finally {
    await context.close();
  }
});

run('the failing batch: the failed bar with its message, the skipped post hook, the global post after every local post', async () => {
  const { context, offHost } = await newContext();
  try {
    const page = await context.newPage();
    await page.goto(sessionUrl('backupsession', 'databases-demo'));
    await page.locator('body[data-ready]').waitFor({ timeout: 20_000 });
    const failed = bar(page, 'StatefulSet/db-b', 'backup');
    assert.is(await failed.getAttribute('data-outcome'), 'failed');
    await failed.hover();
    const tip = page.locator('#tip');
    await tip.getByText('host-0: Failed: failed to backup host-0. Reason: path not found').waitFor({ timeout: 5000 });
    const skipped = bar(page, 'StatefulSet/db-a', 'postBackup');
    assert.is(await skipped.getAttribute('data-outcome'), 'skipped');
    await skipped.focus();
    await tip.getByText('Skipping executing postBackup. Reason: executionPolicy is "OnFailure" but phase is "Succeeded".').waitFor({ timeout: 5000 });
    // The job link of a bar goes to that job on bull-board.
    const jobHref = await tip.locator('a').first().getAttribute('href');
    assert.match(jobHref ?? '', /^\/queue\/post-backup\/hook\.postBackup\.t0\./);

    const globalPost = (await bar(page, 'global postBackup', 'postBackup').boundingBox())!;
    for (const row of ['StatefulSet/db-a', 'StatefulSet/db-b']) {
      const local = (await bar(page, row, 'postBackup').boundingBox())!;
      assert.ok(globalPost.x >= local.x + local.width - 1, `global post (x ${globalPost.x}) starts after ${row}'s local post ends (${local.x + local.width})`);
    }
    assert.is(await bar(page, 'finalize', 'finalize').getAttribute('data-outcome'), 'failed');

    // Keyboard: from a focused bar, ArrowDown moves to the next row and shows its details.
    await bar(page, 'global preBackup', 'preBackup').focus();
    await page.keyboard.press('ArrowDown');
    const focusedRow = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.closest('.row')?.querySelector('.label')?.textContent);
    assert.is(focusedRow, 'StatefulSet/db-a');
    await tip.getByText('Successfully executed preBackup hook.').waitFor({ timeout: 5000 });

    await page.keyboard.press('Escape');
    // A fresh mouseenter: the pointer may already rest on the bar from an earlier step.
    await page.mouse.move(0, 0);
    await failed.hover();
    await tip.getByText('path not found').waitFor({ timeout: 5000 });
    await page.screenshot({ path: SCREENSHOT });
    assert.equal(offHost, []);
  } finally {
    await context.close();
  }
});

run('on a narrow screen the list and the timeline fit the width', async () => {
  const { context } = await newContext({ width: 390, height: 800 });
  try {
    const page = await context.newPage();
    for (const url of [`${demo.dashboardUrl}sessions`, sessionUrl('backupsession', 'databases-demo')]) {
      await page.goto(url);
      await page
        .getByRole('link', { name: /databases-demo|all sessions/ })
        .first()
        .waitFor({ timeout: 20_000 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${url} is ${overflow}px wider than the screen`);
    }
    assert.ok(await bar(page, 'StatefulSet/db-b', 'backup').isVisible());
  } finally {
    await context.close();
  }
});

run("a running session's bars appear without a reload", async () => {
  await custom.createNamespacedCustomObject({
    ...GROUP,
    plural: 'backupconfigurations',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupConfiguration',
      metadata: { name: 'slow-backup', namespace: 'demo' },
      spec: {
        timeOut: '5m',
        target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } },
        hooks: { preBackup: { exec: { command: ['/bin/sh', '-c', 'sleep 20'] }, containerName: 'app' } },
      },
    },
  });
  await custom.createNamespacedCustomObject({
    ...GROUP,
    plural: 'backupsessions',
    body: {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'BackupSession',
      metadata: { name: 'slow-backup-live', namespace: 'demo' },
      spec: { invoker: { apiGroup: 'stash.appscode.com', kind: 'BackupConfiguration', name: 'slow-backup' } },
    },
  });
  const { context } = await newContext();
  try {
    const page = await context.newPage();
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(sessionUrl('backupsession', 'slow-backup-live'));
    await page.locator('body[data-ready]').waitFor({ timeout: 20_000 });
    assert.not.ok(await page.locator('.bar[data-label="finalize"][data-outcome="succeeded"]').count(), 'the session had not finished when the page opened');
    await page.locator('#live').getByText('live').waitFor({ timeout: 5000 });
    await page.locator('.bar[data-label="finalize"][data-outcome="succeeded"]').waitFor({ timeout: 90_000 });
    assert.is(await bar(page, 'Deployment/app', 'backup').getAttribute('data-outcome'), 'succeeded');
    assert.is(loads, 1, 'the page was not reloaded');
  } finally {
    await context.close();
  }
});

run('a 1,000-member session renders in under 1 s', async () => {
  const members = 1000;
  const t0 = Math.floor(Date.now() / 1000) * 1000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const stamp = <T extends object>(c: T, s: number) => ({ ...c, lastTransitionTime: at(s) });
  // A finished session (a terminal phase is never touched by the pipeline), its jobs long gone:
  // the timeline is what its conditions say.
  const spec = { invoker: { kind: 'BackupBatch', name: 'gone' } };
  await custom.createNamespacedCustomObject({
    ...GROUP,
    plural: 'backupsessions',
    body: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupSession', metadata: { name: 'big-batch', namespace: 'demo' }, spec },
  });
  const status = {
    phase: 'Failed',
    sessionDuration: '1m0s',
    conditions: [
      stamp(hookCondition('preBackup', 'global', { kind: 'succeeded' }), 1),
      stamp(hookCondition('postBackup', 'global', { kind: 'succeeded' }), 59),
    ],
    targets: Array.from({ length: members }, (_v, i) => ({
      ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: `db-${i}` },
      phase: i === 500 ? 'Failed' : 'Succeeded',
      totalHosts: 1,
      stats: [
        i === 500
          ? { hostname: 'host-0', phase: 'Failed', duration: '20s', error: 'disk full' }
          : { hostname: 'host-0', phase: 'Succeeded', duration: `${10 + (i % 30)}s` },
      ],
      conditions: [
        stamp(hookCondition('preBackup', 'local', { kind: 'succeeded' }), 2 + (i % 5)),
        stamp(gateCondition('backup', true, 'PreHookSucceeded'), 2 + (i % 5)),
        stamp(hookCondition('postBackup', 'local', { kind: 'succeeded' }), 50 + (i % 5)),
      ],
    })),
  };
  // The pipeline sees the new session too (its invoker does not exist) and may write its status
  // first: write ours over the latest version until it lands; once terminal it is never touched.
  for (let attempt = 0; ; attempt++) {
    const current = (await custom.getNamespacedCustomObject({ ...GROUP, plural: 'backupsessions', name: 'big-batch' })) as {
      metadata: Record<string, unknown>;
    };
    try {
      await custom.replaceNamespacedCustomObjectStatus({
        ...GROUP,
        plural: 'backupsessions',
        name: 'big-batch',
        body: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'BackupSession', metadata: current.metadata, spec, status },
      });
      const after = (await custom.getNamespacedCustomObject({ ...GROUP, plural: 'backupsessions', name: 'big-batch' })) as { status?: { targets?: unknown[] } };
      if (after.status?.targets?.length === members) break;
    } catch (err) {
      if (attempt > 20) throw err;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const { context } = await newContext();
  try {
    const page = await context.newPage();
    await page.goto(sessionUrl('backupsession', 'big-batch'));
    await page.locator('body[data-ready]').waitFor({ timeout: 30_000 });
    const m = await page.evaluate(() => ({
      renderMs: Number(document.body.dataset.renderMs),
      sinceNavigationMs: Math.round(performance.now()),
      rowsInDom: document.querySelectorAll('.row').length,
      rowCount: Number(document.querySelector('.viewport')?.getAttribute('aria-rowcount')),
    }));
    process.stdout.write(
      `1,000-member session: drawn in ${m.renderMs} ms after its data arrived; ${m.sinceNavigationMs} ms from navigation (server read included); ${m.rowsInDom} of ${m.rowCount} rows in the DOM\n`,
    );
    assert.is(m.rowCount, members + 3, 'global pre, 1,000 members, global post, finalize');
    assert.ok(m.rowsInDom < 100, `rows are virtualised (${m.rowsInDom} in the DOM)`);
    assert.ok(m.renderMs < 1000, `drawn in ${m.renderMs} ms`);
    // Scroll to the failed member: it is drawn on demand with its message.
    await page.locator('.viewport').evaluate((vp) => (vp.scrollTop = 501 * 28));
    const failed = bar(page, 'StatefulSet/db-500', 'backup');
    await failed.waitFor({ timeout: 5000 });
    assert.is(await failed.getAttribute('data-outcome'), 'failed');
    await failed.hover();
    await page.locator('#tip').getByText('host-0: Failed: disk full').waitFor({ timeout: 5000 });
  } finally {
    await context.close();
  }
});

test.run();
