/**
 * The address classification behind every URL edge-op POSTs to (src/http/public-address.ts):
 * IP-literal hosts in loopback, private (RFC 1918), shared (CGNAT, RFC 6598), link-local,
 * unique-local (RFC 4193), unspecified and other special-purpose ranges (RFC 6890, the IANA
 * registries) are not public, in every spelling WHATWG URL parsing accepts; DNS names are not
 * resolved and count as public, except `localhost` (RFC 6761 §6.3).
 */
import { describe, expect, it } from "vitest";
import { nonPublicHost } from "../src/outbound/public-address";

/** How a URL's host is judged: the range it is in, or "public". */
function judge(url: string): string {
  return nonPublicHost(new URL(url).hostname)?.range ?? "public";
}

describe("IPv4 literals (RFC 6890 special-purpose ranges)", () => {
  const cases: [string, RegExp][] = [
    ["https://127.0.0.1:8443/cb", /^loopback \(127\.0\.0\.0\/8\)/],
    ["https://127.255.255.254/", /^loopback/],
    ["https://10.0.0.1/", /^private \(10\.0\.0\.0\/8\)/],
    ["https://172.16.0.1/", /^private \(172\.16\.0\.0\/12\)/],
    ["https://172.31.255.255/", /^private \(172\.16\.0\.0\/12\)/],
    ["https://192.168.1.10/", /^private \(192\.168\.0\.0\/16\)/],
    ["https://169.254.169.254/latest/meta-data/", /^link-local, cloud metadata/],
    ["https://100.64.0.1/", /^shared address space, CGNAT \(100\.64\.0\.0\/10\)/],
    ["https://100.127.255.255/", /^shared address space/],
    ["https://0.0.0.0/", /^this network, unspecified/],
    ["https://192.0.0.170/", /^IETF protocol assignments/],
    ["https://192.0.2.1/", /^documentation/],
    ["https://198.18.0.1/", /^benchmarking/],
    ["https://224.0.0.1/", /^multicast/],
    ["https://255.255.255.255/", /^reserved, broadcast/],
  ];
  for (const [url, range] of cases) {
    it(`${url} is not public`, () => expect(judge(url)).toMatch(range));
  }

  it("the neighbours of those ranges are public", () => {
    for (const url of [
      "https://8.8.8.8/",
      "https://9.255.255.255/",
      "https://11.0.0.0/",
      "https://100.63.255.255/",
      "https://100.128.0.0/",
      "https://126.255.255.255/",
      "https://128.0.0.0/",
      "https://169.253.255.255/",
      "https://169.255.0.0/",
      "https://172.15.255.255/",
      "https://172.32.0.0/",
      "https://192.167.255.255/",
      "https://192.169.0.0/",
      "https://198.20.0.0/",
      "https://223.255.255.255/",
    ]) {
      expect(judge(url), url).toBe("public");
    }
  });
});

describe("odd IPv4 spellings are judged as the address they parse to", () => {
  for (const url of [
    "https://2130706433/",
    "https://0x7f.1/",
    "https://0x7f000001/",
    "https://0177.0.0.1/",
    "https://127.1/",
    "https://127.0.0.1./",
    "https://%31%32%37.0.0.1/",
    "https://[::ffff:127.0.0.1]/",
    "https://[0:0:0:0:0:ffff:7f00:1]/",
  ]) {
    it(`${url} is loopback`, () => {
      expect(judge(url)).toMatch(/^loopback/);
      expect(nonPublicHost(new URL(url).hostname)?.loopback).toBe(true);
    });
  }

  it("https://0/ is the unspecified address; 0xa9fea9fe is the metadata address", () => {
    expect(judge("https://0/")).toMatch(/^this network/);
    expect(judge("https://0xa9fea9fe/")).toMatch(/^link-local/);
    expect(judge("https://2852039166/")).toMatch(/^link-local/);
  });

  it("classifies a host that is not yet normalised the same way (the module normalises it)", () => {
    expect(nonPublicHost("0x7f.1")?.range).toMatch(/^loopback/);
    expect(nonPublicHost("2130706433")?.range).toMatch(/^loopback/);
    expect(nonPublicHost("[::ffff:10.0.0.1]")?.range).toMatch(/^private .* as IPv4-mapped/);
    expect(nonPublicHost("[0000:0000:0000:0000:0000:0000:0000:0001]")?.range).toMatch(/^loopback/);
  });
});

describe("IPv6 literals", () => {
  const cases: [string, RegExp][] = [
    ["https://[::1]/", /^loopback \(::1\/128\)/],
    ["https://[::]/", /^unspecified/],
    ["https://[fc00::1]/", /^unique-local \(fc00::\/7\)/],
    ["https://[fd12:3456:789a::1]/", /^unique-local/],
    ["https://[fe80::1]/", /^link-local \(fe80::\/10\)/],
    ["https://[febf:ffff::1]/", /^link-local/],
    ["https://[fec0::1]/", /^site-local/],
    ["https://[ff02::1]/", /^multicast/],
    ["https://[::ffff:169.254.169.254]/", /^link-local.* as IPv4-mapped/],
    ["https://[::ffff:192.168.0.1]/", /^private .* as IPv4-mapped/],
    ["https://[::ffff:0:10.0.0.1]/", /^private .* as IPv4-translated/],
    ["https://[64:ff9b::10.0.0.1]/", /^private .* as NAT64/],
    ["https://[64:ff9b::127.0.0.1]/", /^loopback .* as NAT64/],
    ["https://[64:ff9b:1::1]/", /^local-use NAT64/],
    ["https://[::127.0.0.1]/", /^IPv4-compatible/],
    ["https://[::8.8.8.8]/", /^IPv4-compatible/],
    ["https://[2002:7f00:1::]/", /^loopback .* as 6to4/],
    ["https://[2002:a9fe:a9fe::1]/", /^link-local.* as 6to4/],
    ["https://[2001:db8::1]/", /^documentation/],
    ["https://[2001::1]/", /^IETF protocol assignments, Teredo/],
    ["https://[3fff::1]/", /^documentation/],
    ["https://[100::1]/", /^discard-only/],
    ["https://[1::1]/", /^reserved \(outside 2000::\/3\)/],
    ["https://[4000::1]/", /^reserved/],
  ];
  for (const [url, range] of cases) {
    it(`${url} is not public`, () => expect(judge(url)).toMatch(range));
  }

  it("global unicast and the IPv6 forms of public IPv4 addresses are public", () => {
    for (const url of [
      "https://[2606:4700:4700::1111]/",
      "https://[2a00:1450:4001::1]/",
      "https://[::ffff:8.8.8.8]/",
      "https://[64:ff9b::8.8.8.8]/",
      "https://[2002:808:808::1]/",
      "https://[2001:200::1]/",
      "https://[2001:4860:4860::8888]/",
    ]) {
      expect(judge(url), url).toBe("public");
    }
  });
});

describe("names", () => {
  it("localhost and names under it are loopback (RFC 6761 §6.3), with or without the final dot", () => {
    for (const url of ["https://localhost/", "https://LOCALHOST./", "https://api.localhost:8443/"]) {
      expect(judge(url), url).toMatch(/^loopback \(localhost/);
      expect(nonPublicHost(new URL(url).hostname)?.loopback).toBe(true);
    }
  });

  it("DNS names are not resolved: they count as public", () => {
    for (const url of [
      "https://notify.example/cb",
      "https://127.0.0.1.nip.io/",
      "https://localhost.example/",
      "https://mylocalhost/",
    ]) {
      expect(judge(url), url).toBe("public");
    }
  });

  it("a host that is not valid is not public", () => {
    expect(nonPublicHost("exa mple")?.range).toBe("not a valid host");
    expect(nonPublicHost("[::1::2]")?.range).toBe("not a valid host");
  });
});
