/**
 * The network guard (DESIGN §10): HTTP and TCP hooks may not reach the cloud metadata service or
 * other denied ranges. Addresses are checked after DNS resolution and the connection goes to the
 * checked address (HTTP: through got's `dnsLookup`; TCP: by connecting to it), so a name that
 * resolves to a denied address is refused even when it re-resolves differently later.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { ConfigError, NetworkDeniedError } from '../../shared/errors.js';

/** Link-local (incl. 169.254.169.254), IPv6 link-local, and AWS's IPv6 metadata address. */
export const DEFAULT_DENY_CIDRS: readonly string[] = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128'];

/** A `dns.lookup`-shaped resolver returning every address; injectable for tests. */
export type LookupAll = (hostname: string) => Promise<LookupAddress[]>;

export interface NetworkGuardOptions {
  /** CIDRs never connected to. Default {@link DEFAULT_DENY_CIDRS}. */
  deny?: readonly string[];
  /**
   * When non-empty, only these CIDRs (and loopback, where devcluster pods live) may be connected
   * to; the deny-list still applies to everything. Default empty: no allow-list.
   */
  allow?: readonly string[];
  /** Resolver; default `dns.lookup(host, {all: true})`. */
  lookup?: LookupAll;
}

interface Rule {
  cidr: string;
  list: BlockList;
}

function parseRule(cidr: string, option: string): Rule {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const family = m ? isIP(m[1]) : 0;
  const bits = m ? Number(m[2]) : -1;
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw new ConfigError([`${option}: "${cidr}" is not a CIDR such as 10.0.0.0/8 or fd00::/8`]);
  }
  const list = new BlockList();
  list.addSubnet(m[1], bits, family === 4 ? 'ipv4' : 'ipv6');
  return { cidr: cidr.trim(), list };
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** `::ffff:169.254.169.254` is the IPv4 address for every purpose here. */
function unmap(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const defaultLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Checks addresses against the deny- and allow-lists; built once from validated options. */
export class NetworkGuard {
  private readonly deny: Rule[];
  private readonly allow: Rule[];
  private readonly lookupAll: LookupAll;

  constructor(options: NetworkGuardOptions = {}) {
    this.deny = (options.deny ?? DEFAULT_DENY_CIDRS).map((c) => parseRule(c, 'network.deny'));
    this.allow = (options.allow ?? []).map((c) => parseRule(c, 'network.allow'));
    this.lookupAll = options.lookup ?? defaultLookup;
  }

  /** Throws {@link NetworkDeniedError} when `address` (an IP) may not be reached for `host`. */
  checkAddress(host: string, address: string): void {
    const ip = unmap(address);
    const family = familyOf(ip);
    const shown = host === ip ? `address ${ip}` : `host ${host} (address ${ip})`;
    const denied = this.deny.find((r) => r.list.check(ip, family));
    if (denied) throw new NetworkDeniedError(`network guard refused ${shown}: it matches deny rule ${denied.cidr}`);
    if (this.allow.length > 0 && !LOOPBACK.check(ip, family) && !this.allow.some((r) => r.list.check(ip, family))) {
      throw new NetworkDeniedError(
        `network guard refused ${shown}: it is not in the allow-list (${this.allow.map((r) => r.cidr).join(', ')})`,
      );
    }
  }

  /** Resolves `host` and checks every address; returns them in resolver order. */
  async resolve(host: string): Promise<LookupAddress[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const literal = isIP(bare);
    const addresses = literal ? [{ address: bare, family: literal }] : await this.lookupAll(bare);
    // Any denied address refuses the name: a mixed answer is how rebinding tricks start.
    for (const a of addresses) this.checkAddress(bare, a.address);
    return addresses;
  }

  /**
   * A `dns.lookup` replacement for got's `dnsLookup`: resolves, checks, and hands Node only
   * checked addresses. A refusal is passed as the lookup error and reported via `onDenied`.
   */
  lookupFunction(onDenied: (err: NetworkDeniedError) => void) {
    const guard = this;
    function guardedLookup(
      hostname: string,
      options: LookupOneOptions | LookupAllOptions | ((...args: never[]) => void),
      callback?: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
    ): void {
      const cb = (typeof options === 'function' ? options : callback) as NonNullable<typeof callback>;
      const opts = typeof options === 'function' ? {} : options;
      guard.resolve(hostname).then(
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
}
