/**
 * CocoaPods' `Podfile.lock` (YAML), written by `pod install`:
 *
 *   PODS:
 *     - Alamofire (5.6.4)
 *     - Firebase/Core (10.3.0):          # a subspec of the pod Firebase, with its dependencies
 *       - FirebaseAnalytics (~> 10.3.0)
 *   SPEC CHECKSUMS:
 *     Alamofire: 4e95d97098eacb88856099c4fc79b526a299e48c
 *   EXTERNAL SOURCES:
 *     MyPod: { :path: "../MyPod" }
 *
 * One package per pod (`Firebase/Core` and `Firebase/Analytics` are the pod Firebase; the subspecs
 * are kept as the property `subspecs`), with the spec checksum, and for pods from a path or a git
 * repository the property `source`. Dependencies name pods (or subspecs) with a constraint; they
 * resolve to the pods of the lockfile. CocoaPods has no OSV ecosystem: these are catalogued only.
 */
import type { Cataloger } from '../cataloger.js';
import { textOf } from '../cataloger.js';
import { packageKey, type Finding, type RawPackage } from '../model.js';
import { isRecord, limitedWarnings, parseYamlStrings } from './common.js';

/** `Name/Sub (1.2.3)` or `Name (~> 1.0)` or `Name`: the pod, the subspec path, what is in parentheses. */
const POD = /^([^\s/()]+)(?:\/([^\s()]+))?(?:\s+\(([^)]*)\))?$/;

export const podfileLockCataloger: Cataloger = {
  id: 'podfile-lock',
  version: 1,
  maxBytes: 16 * 1024 * 1024,
  wants: (path) => (path === 'Podfile.lock' || path.endsWith('/Podfile.lock')) && !path.includes('/Pods/') && !path.startsWith('Pods/'),
  async parse(file, ctx) {
    const doc = parseYamlStrings(await textOf(file));
    if (!isRecord(doc) || !Array.isArray(doc['PODS'])) throw new Error('Podfile.lock has no PODS list');
    const warnings = limitedWarnings(ctx);
    const checksums = isRecord(doc['SPEC CHECKSUMS']) ? doc['SPEC CHECKSUMS'] : {};
    const external = isRecord(doc['EXTERNAL SOURCES']) ? doc['EXTERNAL SOURCES'] : {};
    const pods = new Map<string, { version: string; subspecs: Set<string>; deps: Set<string> }>();
    for (const item of doc['PODS']) {
      // A pod with dependencies is a one-key map: { "Name (1.0)": ["Dep (~> 1.0)", …] }.
      const [head, deps] = typeof item === 'string' ? [item, []] : isRecord(item) && Object.keys(item).length === 1 ? Object.entries(item)[0]! : [undefined, []];
      const m = typeof head === 'string' ? POD.exec(head.trim()) : null;
      if (m === null || m[3] === undefined || m[3] === '') {
        warnings.warn(`Podfile.lock PODS entry ${JSON.stringify(head ?? item)?.slice(0, 200)} is not "Name (version)"`);
        continue;
      }
      const [, name, subspec, version] = m as unknown as [string, string, string | undefined, string];
      let pod = pods.get(name);
      if (pod === undefined) pods.set(name, (pod = { version, subspecs: new Set(), deps: new Set() }));
      if (subspec !== undefined) pod.subspecs.add(subspec);
      for (const d of Array.isArray(deps) ? deps : []) {
        const dm = typeof d === 'string' ? POD.exec(d.trim()) : null;
        if (dm !== null && dm[1] !== name) pod.deps.add(dm[1]!);
      }
    }
    warnings.done();
    const keyOf = (name: string): string | undefined => {
      const p = pods.get(name);
      return p === undefined ? undefined : packageKey({ type: 'cocoapods', name, version: p.version });
    };
    return [...pods].map(([name, { version, subspecs, deps }]): Finding => {
      const checksum = typeof checksums[name] === 'string' ? checksums[name] : undefined;
      const source = isRecord(external[name]) ? Object.keys(external[name]).find((k) => k.startsWith(':'))?.slice(1) : undefined;
      const properties = {
        ...(checksum !== undefined ? { checksum } : {}),
        ...(subspecs.size > 0 ? { subspecs: [...subspecs].sort().join(',') } : {}),
        ...(source !== undefined ? { source } : {}),
      };
      const dependsOn = [...deps].flatMap((d) => keyOf(d) ?? []);
      const pkg: RawPackage = {
        type: 'cocoapods',
        name,
        version,
        ...(Object.keys(properties).length > 0 ? { properties } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
      };
      return { kind: 'package', package: pkg };
    });
  },
};
