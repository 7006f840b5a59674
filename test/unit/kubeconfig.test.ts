import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadKubeConfig } from '../../cli/runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'stash-hooks-kubeconfig-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(file: string, name: string, server: string, current = name): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
current-context: ${current}
clusters: [{name: ${name}, cluster: {server: "${server}"}}]
users: [{name: ${name}, user: {token: t}}]
contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]
`,
  );
  return path;
}

test('KUBECONFIG listing several files (as kubectl accepts) merges them; the first current context wins', () => {
  const a = kubeconfig('a.yaml', 'first', 'https://127.0.0.1:6443');
  const b = kubeconfig('b.yaml', 'second', 'https://127.0.0.2:6443');
  const kc = loadKubeConfig([a, b].join(delimiter));
  assert.is(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  assert.equal(
    kc
      .getContexts()
      .map((c) => c.name)
      .sort(),
    ['first', 'second'],
  );
});

test('a name defined in two files: the first file wins, no error', () => {
  const a = kubeconfig('c.yaml', 'same', 'https://127.0.0.1:6443');
  const b = kubeconfig('d.yaml', 'same', 'https://127.0.0.9:6443');
  assert.is(loadKubeConfig(`${a}${delimiter}${b}`).getCurrentCluster()?.server, 'https://127.0.0.1:6443');
});

test('a missing file is a ConfigError naming the setting', () => {
  try {
    loadKubeConfig(join(dir, 'nope.yaml'));
    assert.unreachable('expected a ConfigError');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_CONFIG');
    assert.match((err as Error).message, /--kubeconfig \(KUBECONFIG\)/);
  }
});

test.run();
