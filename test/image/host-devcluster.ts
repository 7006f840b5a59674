// The host side of `npm run test:image`: devcluster on the host's loopback with the product's CRDs
// applied, so a role started inside an image (buildah's chroot isolation shares the host's network)
// can become ready against it. Prints `devcluster ready: <url> kubeconfig=<path>`; runs until
// SIGTERM or SIGINT.
import { startDevCluster } from '../../devcluster/index.js';
import { applyObjects, readManifests } from '../../cli/apply.js';
import { CRD_FILES } from '../helpers/pipeline.js';

const kubeconfigPath = process.argv[2];
const cluster = await startDevCluster({ port: 0, executor: false, kubeconfigPath });
await applyObjects(cluster.kubeConfig, readManifests(...CRD_FILES));
process.stdout.write(`devcluster ready: ${cluster.url} kubeconfig=${cluster.kubeconfigPath}\n`);
await new Promise<void>((resolve) => {
  process.once('SIGTERM', resolve);
  process.once('SIGINT', resolve);
});
// Open watches of a client that went away can hold close() up; this process has nothing to save.
const forced = setTimeout(() => process.exit(0), 5000);
await cluster.close();
clearTimeout(forced);
