/** The yaml library, loaded when an ignore file or a VEX document in YAML is read, not by every scan. */
import { createRequire } from 'node:module';
import type * as YamlT from 'yaml';

const requireLazy = createRequire(import.meta.url);
let yamlLib: typeof YamlT | undefined;
export const yaml = (): typeof YamlT => (yamlLib ??= requireLazy('yaml') as typeof YamlT);
