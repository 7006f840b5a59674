/**
 * The network guard (DESIGN §11 "Network guard"): an HTTP or TCP hook is a request a tenant makes
 * from inside stash-hooks, so its destination is checked against what a tenant must not reach
 * through us: loopback (outside devcluster, whose pods live on loopback), link-local, the cloud
 * metadata services, the Kubernetes API server and stash-hooks' own pods and Redis.
 *
 * Addresses are checked after DNS resolution, on every connection (the first request, each
 * redirect, each address tried), and the socket connects to the address that was checked: the
 * guard is the connection's `lookup` (HTTP: through the agents of {@link NetworkGuard.agents};
 * TCP: by connecting to the resolved address), so a name that re-resolves between check and
 * connect (DNS rebinding) cannot slip through.
 *
 * Precedence: `--deny-cidrs` always refuses; otherwise `--allow-cidrs` exempts an address from a
 * built-in rule when it is at least as specific as that rule (allowing 10.0.0.0/8 does not reopen
 * the API server's 10.96.0.1/32; allowing 10.96.0.1/32 does); everything else may be reached.
 */
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, Socket } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { ConfigError, NetworkDeniedError } from '../../shared/errors.js';

/**
 * Cloud metadata and platform addresses, most specific first. Sources: AWS IMDS (169.254.169.254,
 * fd00:ec2::254) and ECS task metadata (169.254.170.2); GCP (169.254.169.254, fd20:ce::254,
 * metadata.google.internal resolves to 169.254.169.254); Azure IMDS (169.254.169.254) and
 * WireServer (168.63.129.16); Alibaba (100.100.100.200); Oracle Cloud (192.0.0.192 and
 * 169.254.169.254); OpenStack, DigitalOcean, Hetzner, Tencent (169.254.0.23) all on link-local.
 */
export const METADATA_CIDRS: readonly string[] = [
  '169.254.169.254/32',
  '169.254.170.2/32',
  '169.254.0.23/32',
  'fd00:ec2::254/128',
  'fd20:ce::254/128',
  '100.100.100.200/32',
  '168.63.129.16/32',
  '192.0.0.192/32',
];

/** Loopback and "this host" (0.0.0.0 and :: connect to loopback on Linux). */
export const LOOPBACK_CIDRS: readonly string[] = ['127.0.0.0/8', '::1/128', '0.0.0.0/8', '::/128'];

/** Link-local: IPv4 (where most metadata services live) and IPv6. */
export const LINK_LOCAL_CIDRS: readonly string[] = ['169.254.0.0/16', 'fe80::/10'];

/** An address of stash-hooks' own infrastructure (the API server, its pods, Redis). */
export interface InfraAddress {
  address: string;
  /** Only this port is denied; absent: every port. Loopback addresses are shared, so they carry one. */
  port?: number;
  /** What it is, for the refusal: "the Kubernetes API server (Service default/kubernetes)". */
  what: string;
}

/** A `dns.lookup`-shaped resolver returning every address; injectable for tests. */
export type LookupAll = (hostname: string) => Promise<LookupAddress[]>;

export interface NetworkGuardOptions {
  /** `--deny-cidrs`: refused whatever else is configured. Default none. */
  deny?: readonly string[];
  /** `--allow-cidrs`: exempts addresses from the built-in rules (see the module comment). Default none. */
  allow?: readonly string[];
  /**
   * Loopback may be reached (devcluster mode: its pods have 127.0.0.x addresses). Default false.
   * The API server's and Redis's own loopback ports stay denied.
   */
  allowLoopback?: boolean;
  /** The current infrastructure addresses (refreshed by the caller); default none. */
  infrastructure?: () => readonly InfraAddress[];
  /** Resolver; default `dns.lookup(host, {all: true})`. */
  lookup?: LookupAll;
}

interface Rule {
  cidr: string;
  bits: number;
  list: BlockList;
  /** For built-in rules: what the range is. */
  why?: string;
}

function parseRule(cidr: string, option: string, why?: string): Rule {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const family = m ? isIP(m[1]) : 0;
  const bits = m ? Number(m[2]) : -1;
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw new ConfigError([`${option}: "${cidr}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`]);
  }
  const list = new BlockList();
  list.addSubnet(m[1], bits, family === 4 ? 'ipv4' : 'ipv6');
  return { cidr: cidr.trim(), bits, list, why };
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** The 16 bytes of an IPv6 address (dotted IPv4 tail allowed), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let s = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    s = `${s.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => {
    const n = parseInt(g || '0', 16);
    return [n >> 8, n & 0xff];
  });
}

/**
 * The IPv4 address an IPv6 address carries, for IPv4-mapped (`::ffff:a.b.c.d`, also written
 * `::ffff:a9fe:a9fe`), IPv4-compatible (`::a.b.c.d`), SIIT (`::ffff:0:a.b.c.d`) and the NAT64
 * well-known prefix (`64:ff9b::/96`), each of which reaches the IPv4 address. Else the input.
 */
export function unmapAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const b = ipv6Bytes(address);
  if (!b) return address;
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const v4 = b.slice(12).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return v4;
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return v4;
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return v4;
  // ::a.b.c.d, but not :: and ::1, which are IPv6's own unspecified and loopback addresses.
  if (zero(0, 12) && !zero(12, 15)) return v4;
  return address;
}

const defaultLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Checks addresses against the rules; built once per hook from validated options. */
export class NetworkGuard {
  private readonly deny: Rule[];
  private readonly allow: Rule[];
  private readonly builtIn: Rule[];
  private readonly infrastructure: () => readonly InfraAddress[];
  private readonly lookupAll: LookupAll;

  constructor(options: NetworkGuardOptions = {}) {
    this.deny = (options.deny ?? []).map((c) => parseRule(c, 'network.deny'));
    this.allow = (options.allow ?? []).map((c) => parseRule(c, 'network.allow'));
    this.builtIn = [
      ...METADATA_CIDRS.map((c) => parseRule(c, 'metadata', 'a cloud metadata address')),
      ...LINK_LOCAL_CIDRS.map((c) => parseRule(c, 'link-local', 'link-local')),
      ...(options.allowLoopback ? [] : LOOPBACK_CIDRS.map((c) => parseRule(c, 'loopback', 'loopback'))),
    ];
    this.infrastructure = options.infrastructure ?? (() => []);
    this.lookupAll = options.lookup ?? defaultLookup;
  }

  /**
   * Throws {@link NetworkDeniedError} when `address` (an IP) may not be reached for `host`;
   * `port`, when known, also matches port-specific infrastructure addresses.
   */
  checkAddress(host: string, address: string, port?: number): void {
    const ip = unmapAddress(address.replace(/^\[(.*)\]$/, '$1'));
    const family = familyOf(ip);
    const shown = host === ip || host === address ? `address ${ip}` : `host ${host} (address ${ip})`;
    const refuse = (why: string) => new NetworkDeniedError(`network guard refused ${shown}: ${why}`);
    const denied = this.deny.find((r) => r.list.check(ip, family));
    if (denied) throw refuse(`it matches deny rule ${denied.cidr}`);
    const allowedBits = Math.max(-1, ...this.allow.filter((r) => r.list.check(ip, family)).map((r) => r.bits));
    const fullBits = family === 'ipv4' ? 32 : 128;
    const infra = this.infrastructure().find((a) => unmapAddress(a.address) === ip && (a.port === undefined || a.port === port));
    if (infra && allowedBits < fullBits) throw refuse(`it is ${infra.what}, which hooks may not reach`);
    const builtIn = this.builtIn.filter((r) => r.list.check(ip, family)).sort((a, b) => b.bits - a.bits)[0];
    if (builtIn && allowedBits < builtIn.bits) {
      throw refuse(`it is ${builtIn.why} (${builtIn.cidr}); only the platform admin can allow it (--allow-cidrs)`);
    }
  }

  /** Resolves `host` and checks every address (for `port`, when given); returns them in resolver order. */
  async resolve(host: string, port?: number): Promise<LookupAddress[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(bare);
    const addresses = literal ? [{ address: bare, family: literal }] : await this.lookupAll(bare);
    // Any denied address refuses the name: a mixed answer is how rebinding tricks start.
    for (const a of addresses) this.checkAddress(bare, a.address, port);
    return addresses;
  }

  /**
   * A `dns.lookup` replacement for a socket's `lookup` option: resolves, checks, and hands Node
   * only checked addresses. A refusal is passed as the lookup error and reported via `onDenied`.
   */
  lookupFunction(onDenied: (err: NetworkDeniedError) => void, port?: number) {
    const guard = this;
    function guardedLookup(
      hostname: string,
      options: LookupOneOptions | LookupAllOptions | ((...args: never[]) => void),
      callback?: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
    ): void {
      const cb = (typeof options === 'function' ? options : callback) as NonNullable<typeof callback>;
      const opts = typeof options === 'function' ? {} : options;
      guard.resolve(hostname, port).then(
        (addresses) => {
          const wanted = opts.family === 4 || opts.family === 6 ? addresses.filter((a) => a.family === opts.family) : addresses;
          if (wanted.length === 0) {
            const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
            err.code = 'ENOTFOUND';
            cb(err, '');
          } else if ((opts as LookupAllOptions).all) cb(null, wanted);
          else cb(null, wanted[0].address, wanted[0].family);
        },
        (err: NodeJS.ErrnoException) => {
          if (err instanceof NetworkDeniedError) onDenied(err);
          cb(err, '');
        },
      );
    }
    return guardedLookup;
  }

  /**
   * Fresh HTTP and HTTPS agents (no keep-alive: no pooled socket skips the check or outlives the
   * hook) whose every connection, redirects included, is checked for its host and port: names
   * through {@link lookupFunction}, IP literals (which never reach a lookup) before connecting.
   */
  agents(onDenied: (err: NetworkDeniedError) => void): { http: http.Agent; https: https.Agent } {
    const guarded = <A extends http.Agent>(agent: A): A => {
      type Create = (options: http.ClientRequestArgs & { lookup?: unknown }, cb?: (err: Error | null, socket: Socket) => void) => Socket;
      const create = (agent as unknown as { createConnection: Create }).createConnection.bind(agent);
      (agent as unknown as { createConnection: Create }).createConnection = (options, cb) => {
        const host = String(options.host ?? options.hostname ?? 'localhost').replace(/^\[(.*)\]$/, '$1');
        const port = Number(options.port) || undefined;
        if (isIP(host)) {
          try {
            this.checkAddress(host, host, port);
          } catch (err) {
            onDenied(err as NetworkDeniedError);
            const socket = new Socket();
            process.nextTick(() => socket.destroy(err as Error));
            return socket;
          }
          return create(options, cb);
        }
        return create({ ...options, lookup: this.lookupFunction(onDenied, port) }, cb);
      };
      return agent;
    };
    return { http: guarded(new http.Agent({ keepAlive: false })), https: guarded(new https.Agent({ keepAlive: false })) };
  }
}
