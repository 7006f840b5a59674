/**
 * @kubernetes/client-node 1.x builds a new `http(s).Agent` for every API request
 * (`KubeConfig.createAgent`, called from `applySecurityAuthentication`), so every call opens a
 * new TCP connection — and against a real API server a new TLS handshake. Profiles of the
 * pipeline showed `net.internalConnect` as the top function of the coordinator and the hook
 * workers (docs/performance.md). This wraps a KubeConfig so that the API clients made from it
 * share one keep-alive agent per wrapper.
 */
import type { Agent as HttpAgent } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

type AgentFactory = (cluster: unknown, agentOptions: Record<string, unknown>) => HttpAgent;

/**
 * A view of `kubeConfig` (it delegates everything, so credentials, contexts and exec plugins stay
 * the original's) whose API clients reuse one keep-alive agent. Call once per component and keep
 * the result: each call makes a new pool of connections.
 */
export function withKeepAlive(kubeConfig: KubeConfig, maxSockets = 64): KubeConfig {
  const view = Object.create(kubeConfig) as { createAgent: AgentFactory };
  const original = (kubeConfig as unknown as { createAgent: AgentFactory }).createAgent;
  let agent: HttpAgent | undefined;
  view.createAgent = function (cluster, agentOptions) {
    // The agent options come from the kubeconfig (CA, client certificate), the same on every call.
    agent ??= original.call(kubeConfig, cluster, { ...agentOptions, keepAlive: true, maxSockets });
    return agent;
  };
  return view as unknown as KubeConfig;
}
