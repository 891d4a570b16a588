import { createRequire } from 'node:module';

/** The version in package.json (dist/src/cli → the package root). */
export function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}
