/**
 * The feeds `portcullis db update` fetches when none are given: the official address of every feed
 * the DB reads (docs/scan.md lists them). `--feeds FILE` or `scan.feeds` replaces the list, e.g.
 * with an internal mirror.
 */

/** Alpine releases whose secdb is fetched (main and community). */
const ALPINE_RELEASES = ['v3.17', 'v3.18', 'v3.19', 'v3.20', 'v3.21', 'v3.22', 'edge'];

/**
 * osv.dev's per-ecosystem exports (`<ecosystem>/all.zip`). The RPM distributions' own advisories
 * reach osv.dev from their vendors (Red Hat's CSAF, AlmaLinux's and Rocky's errata, SUSE's, …);
 * Photon OS has no export there.
 */
const OSV_ECOSYSTEMS = [
  'npm',
  'PyPI',
  'Go',
  'Maven',
  'crates.io',
  'RubyGems',
  'Packagist',
  'NuGet',
  'Hex',
  'Pub',
  'SwiftURL',
  'ConanCenter',
  'Ubuntu',
  'Debian',
  'Red Hat',
  'AlmaLinux',
  'Rocky Linux',
  'SUSE',
  'openSUSE',
  'Azure Linux',
  'Mageia',
  'openEuler',
  'Wolfi',
  'Chainguard',
];

/**
 * The distributions' own feeds in their published forms: Wolfi's and Chainguard's secdb, Oracle's
 * ELSA OVAL (all years, bzip2). Amazon Linux's updateinfo.xml.gz lives under a repository path
 * that changes with every release of the distribution (`…/al2023/core/guids/<hash>/x86_64/`, found
 * through the release's `mirror.list`): it cannot be listed here; a feeds file names it
 * (docs/scan.md).
 */
const DISTRIBUTION_FEEDS = [
  'https://packages.wolfi.dev/os/security.json',
  'https://packages.cgr.dev/chainguard/security.json',
  'https://linux.oracle.com/security/oval/com.oracle.elsa-all.xml.bz2',
];

/** The NVD's yearly feeds start in 2002 (older CVEs are in the 2002 file). */
const NVD_FIRST_YEAR = 2002;

export function defaultFeeds(now: Date = new Date()): string[] {
  const out = ['https://security-tracker.debian.org/tracker/data/json'];
  for (const r of ALPINE_RELEASES) for (const repo of ['main', 'community']) out.push(`https://secdb.alpinelinux.org/${r}/${repo}.json`);
  for (const e of OSV_ECOSYSTEMS) out.push(`https://osv-vulnerabilities.storage.googleapis.com/${encodeURIComponent(e)}/all.zip`);
  out.push(...DISTRIBUTION_FEEDS);
  for (let y = NVD_FIRST_YEAR; y <= now.getUTCFullYear(); y++) out.push(`https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-${y}.json.gz`);
  out.push('https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-modified.json.gz');
  out.push('https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json');
  out.push('https://epss.empiricalsecurity.com/epss_scores-current.csv.gz');
  return out;
}

/** A feeds file: one URL per line; `#` starts a comment; blank lines are skipped. */
export function parseFeedsFile(text: string, name: string): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    let url: URL;
    try {
      url = new URL(line);
    } catch {
      throw new TypeError(`${name}:${i + 1}: "${line.slice(0, 100)}" is not a URL (one http(s) URL per line, # for comments)`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`${name}:${i + 1}: ${url.protocol} is not http(s)`);
    out.push(url.toString());
  });
  return out;
}
