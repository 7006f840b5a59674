// Honest skips: a test that cannot run here is registered as skipped (uvu counts it) and says why
// on a line `SKIP <test>: <reason>`, which test/run.mjs collects into its per-tier report. A test
// never returns early and passes without having run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test as uvuTest } from 'uvu';

type Register = typeof uvuTest;

/**
 * `register` itself when `reason` is undefined; otherwise a stand-in that registers each test as
 * skipped and prints why. Use as `const it = skipUnless(kubectlUnavailable());`.
 */
export function skipUnless(reason: string | undefined, register: Register = uvuTest): Register {
  if (reason === undefined) return register;
  const skipped = ((name: string) => {
    register.skip(name, () => {});
    process.stdout.write(`SKIP ${name}: ${reason}\n`);
  }) as unknown as Register;
  return skipped;
}

/** kubectl's client minor version, or undefined when kubectl is not on PATH. */
export function kubectlMinor(): number | undefined {
  const r = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  try {
    const minor = (JSON.parse(r.stdout) as { clientVersion?: { minor?: string } }).clientVersion?.minor ?? '0';
    return Number.parseInt(minor, 10);
  } catch {
    return 0;
  }
}

/**
 * Why the kubectl tests cannot run here, or undefined when they can: they need kubectl 1.24+
 * (`--subresource`, `kustomize` with components). Debian's `kubernetes-client` is 1.20.
 */
export function kubectlUnavailable(minMinor = 24): string | undefined {
  const minor = kubectlMinor();
  if (minor === undefined) return 'kubectl is not on PATH (install kubectl 1.24 or newer)';
  if (minor < minMinor) return `kubectl 1.${minor} is older than 1.${minMinor} (no --subresource); install a newer kubectl`;
  return undefined;
}

/** Why the browser tests cannot run here (no Chromium at `path`), or undefined. */
export function chromiumUnavailable(path: string): string | undefined {
  return existsSync(path) ? undefined : `no Chromium at ${path} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}
