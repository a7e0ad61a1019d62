/**
 * Is a URL's host a public Internet address? For the URLs edge-op POSTs to (client notification
 * endpoints, the CIBA webhook), so that a registration cannot aim the provider's requests, and
 * the bearer tokens they carry, at a loopback, private, link-local or cloud-metadata address.
 *
 * Only IP literals (and the special-use name `localhost`) are classified; DNS names are accepted
 * and nothing is resolved here. A name could resolve to a private address, but a Worker's
 * `fetch()` goes out through Cloudflare's network to the public Internet: Cloudflare documents
 * Workers VPC (a Tunnel-backed binding) as the way to reach services that are not reachable from
 * the public Internet, so the global `fetch()` has no route into the deployment's own private
 * network. (That is the platform's guarantee, not one edge-op checks.) `wrangler dev` and other
 * runtimes do reach local addresses, hence the literal check in every environment.
 *
 * Pure: the host is first normalised exactly as WHATWG URL parsing does (`2130706433`, `0x7f.1`,
 * `0177.0.0.1` and `127.1` all become `127.0.0.1`; `[::ffff:127.0.0.1]` becomes
 * `[::ffff:7f00:1]`), then compared with the IANA special-purpose address registries.
 */

/** A host that is not a public address: the range it is in, and whether that is loopback. */
export interface NonPublicHost {
  range: string;
  loopback: boolean;
}

interface Range {
  /** Network address: 4 bytes (IPv4) or 16 bytes (IPv6). */
  network: number[];
  prefix: number;
  name: string;
  loopback?: boolean;
}

function v4(text: string, prefix: number, name: string, loopback = false): Range {
  return { network: text.split(".").map(Number), prefix, name: `${name} (${text}/${prefix})`, loopback };
}

function v6(text: string, prefix: number, name: string, loopback = false): Range {
  return { network: ipv6Bytes(text) ?? [], prefix, name: `${name} (${text}/${prefix})`, loopback };
}

/** IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates), plus multicast and class E. */
const IPV4_RANGES: Range[] = [
  v4("0.0.0.0", 8, "this network, unspecified"),
  v4("10.0.0.0", 8, "private"),
  v4("100.64.0.0", 10, "shared address space, CGNAT"),
  v4("127.0.0.0", 8, "loopback", true),
  v4("169.254.0.0", 16, "link-local, cloud metadata"),
  v4("172.16.0.0", 12, "private"),
  v4("192.0.0.0", 24, "IETF protocol assignments"),
  v4("192.0.2.0", 24, "documentation"),
  v4("192.88.99.0", 24, "6to4 relay anycast"),
  v4("192.168.0.0", 16, "private"),
  v4("198.18.0.0", 15, "benchmarking"),
  v4("198.51.100.0", 24, "documentation"),
  v4("203.0.113.0", 24, "documentation"),
  v4("224.0.0.0", 4, "multicast"),
  v4("240.0.0.0", 4, "reserved, broadcast"),
];

/** IPv6 ranges that hold an IPv4 address in their last 32 bits: judged by that address. */
const IPV6_EMBEDDING_IPV4: Range[] = [
  v6("::ffff:0:0", 96, "IPv4-mapped"),
  v6("::ffff:0:0:0", 96, "IPv4-translated"),
  v6("64:ff9b::", 96, "NAT64"),
];

/** IANA IPv6 Special-Purpose Address Registry, and the non-unicast blocks around it. */
const IPV6_RANGES: Range[] = [
  v6("::", 128, "unspecified"),
  v6("::1", 128, "loopback", true),
  v6("::", 96, "IPv4-compatible, deprecated"),
  v6("64:ff9b:1::", 48, "local-use NAT64"),
  v6("100::", 64, "discard-only"),
  v6("2001::", 23, "IETF protocol assignments, Teredo"),
  v6("2001:db8::", 32, "documentation"),
  v6("3fff::", 20, "documentation"),
  v6("5f00::", 16, "segment routing"),
  v6("fc00::", 7, "unique-local"),
  v6("fe80::", 10, "link-local"),
  v6("fec0::", 10, "site-local, deprecated"),
  v6("ff00::", 8, "multicast"),
];

/** Global unicast (RFC 4291 §2.4): every other IPv6 address is not a public host. */
const IPV6_GLOBAL_UNICAST = v6("2000::", 3, "global unicast");
/** 6to4 (RFC 3056): the IPv4 address follows the first 16 bits. */
const IPV6_6TO4 = v6("2002::", 16, "6to4");

/**
 * The non-public range `hostname` (a URL's `hostname`, IPv6 in brackets) lies in, or undefined
 * for a public address or a DNS name.
 */
export function nonPublicHost(hostname: string): NonPublicHost | undefined {
  const host = normalise(hostname);
  if (host === undefined) return { range: "not a valid host", loopback: false };
  // RFC 6761 §6.3: localhost and every name under it are loopback, whatever DNS says.
  const name = host.replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) {
    return { range: "loopback (localhost, RFC 6761)", loopback: true };
  }
  if (host.startsWith("[") && host.endsWith("]")) {
    const bytes = ipv6Bytes(host.slice(1, -1));
    return bytes ? classifyIpv6(bytes) : { range: "not a valid IPv6 address", loopback: false };
  }
  const bytes = ipv4Bytes(host);
  return bytes ? classifyIpv4(bytes) : undefined;
}

/** WHATWG URL host parsing: numbers in any IPv4 form become dotted quads, IPv6 is compressed. */
function normalise(hostname: string): string | undefined {
  try {
    return new URL(`https://${hostname}/`).hostname;
  } catch {
    return undefined;
  }
}

function classifyIpv4(bytes: number[]): NonPublicHost | undefined {
  const range = IPV4_RANGES.find((r) => inRange(bytes, r));
  return range ? { range: range.name, loopback: range.loopback === true } : undefined;
}

function classifyIpv6(bytes: number[]): NonPublicHost | undefined {
  const embedding = IPV6_EMBEDDING_IPV4.find((r) => inRange(bytes, r));
  if (embedding) return withinIpv6(embedding, classifyIpv4(bytes.slice(12)));
  if (inRange(bytes, IPV6_6TO4)) return withinIpv6(IPV6_6TO4, classifyIpv4(bytes.slice(2, 6)));
  const range = IPV6_RANGES.find((r) => inRange(bytes, r));
  if (range) return { range: range.name, loopback: range.loopback === true };
  if (!inRange(bytes, IPV6_GLOBAL_UNICAST)) return { range: "reserved (outside 2000::/3)", loopback: false };
  return undefined;
}

/** An IPv4 verdict reached through an IPv6 form names both. */
function withinIpv6(outer: Range, inner: NonPublicHost | undefined): NonPublicHost | undefined {
  return inner ? { range: `${inner.range} as ${outer.name}`, loopback: inner.loopback } : undefined;
}

function inRange(bytes: number[], range: Range): boolean {
  if (bytes.length !== range.network.length) return false;
  for (let bit = 0; bit < range.prefix; bit++) {
    const index = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((bytes[index] ?? 0) & mask) !== ((range.network[index] ?? 0) & mask)) return false;
  }
  return true;
}

/** Four bytes of a dotted-quad IPv4 address (the normalised form), or undefined. */
function ipv4Bytes(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** Sixteen bytes of an IPv6 address (with `::` and an optional dotted IPv4 tail), or undefined. */
function ipv6Bytes(text: string): number[] | undefined {
  let groups: string[];
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const split = (s: string) => (s === "" ? [] : s.split(":"));
  const head = split(halves[0] ?? "");
  const tail = halves.length === 2 ? split(halves[1] ?? "") : [];
  const last = (halves.length === 2 ? tail : head).at(-1);
  const words: number[] = [];
  const parseWords = (list: string[]): boolean => {
    for (const group of list) {
      if (!/^[0-9a-f]{1,4}$/i.test(group)) return false;
      words.push(Number.parseInt(group, 16));
    }
    return true;
  };
  // A dotted IPv4 tail stands for the last two groups.
  let ipv4Tail: number[] | undefined;
  if (last?.includes(".")) {
    ipv4Tail = ipv4Bytes(last);
    if (!ipv4Tail) return undefined;
    if (halves.length === 2) tail.pop();
    else head.pop();
  }
  const tailWords = ipv4Tail ? 2 : 0;
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length - tailWords;
    if (missing < 1) return undefined;
    groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
  } else {
    if (head.length + tailWords !== 8) return undefined;
    groups = head;
  }
  if (!parseWords(groups)) return undefined;
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  return ipv4Tail ? [...bytes, ...ipv4Tail] : bytes;
}

/**
 * Why edge-op must not send requests to `url`, or undefined: its host is an IP literal (or
 * `localhost`) in a non-public range. `allowLoopback` is the development switch
 * (ALLOW_HTTP_NOTIFICATION_ENDPOINTS): a receiver on this machine, never a private network.
 */
export function destinationProblem(url: URL, allowLoopback: boolean): string | undefined {
  const host = nonPublicHost(url.hostname);
  if (host === undefined || (allowLoopback && host.loopback)) return undefined;
  return `must not name a non-public address: ${host.range}`;
}
