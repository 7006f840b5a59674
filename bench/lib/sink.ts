/**
 * The local sink hooks call: records the arrival time (performance.now) of the first request on
 * every path; paths under `/slow/` are answered after `slowMs` (hooks that take time).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchSink {
  port: number;
  /** First arrival (performance.now) per path. */
  arrivals: Map<string, number>;
  /** Every request, duplicates included. */
  count: number;
  close(): Promise<void>;
}

export async function startBenchSink(slowMs = 100): Promise<BenchSink> {
  const arrivals = new Map<string, number>();
  const sink: BenchSink = { port: 0, arrivals, count: 0, close: async () => {} };
  const server = createServer((req, res) => {
    const at = performance.now();
    const path = req.url ?? '';
    sink.count++;
    if (!arrivals.has(path)) arrivals.set(path, at);
    req.resume();
    const reply = () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }).end('ok');
    if (path.startsWith('/slow/')) setTimeout(reply, slowMs);
    else reply();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sink.port = (server.address() as AddressInfo).port;
  sink.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return sink;
}
