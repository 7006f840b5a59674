/**
 * devcluster — an in-memory Kubernetes API server on loopback, with a backup executor simulator
 * (DESIGN §8). `startDevCluster()` for tests and the demo; `runDevClusterCli()` behind
 * `stash-hooks devcluster`.
 */
export { startDevCluster, type DevCluster } from './cluster.js';
/** Options of {@link startDevCluster}. */
export type { DevClusterOptions } from './options.js';
export { runDevClusterCli, parseDevClusterArgs } from './cli.js';
export { RESULT_ANNOTATION, ERROR_ANNOTATION } from './executor-simulator.js';
