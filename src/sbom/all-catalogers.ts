/** Every cataloger Portcullis runs, in one list: the SBOM, the layer cache key and the scanner use it. */
import type { Cataloger } from './cataloger.js';
import { apkCataloger } from './catalogers/apk.js';
import { dotnetDepsCataloger } from './catalogers/dotnet.js';
import { dpkgCataloger, dpkgCopyrightCataloger, dpkgStatusDCataloger } from './catalogers/dpkg.js';
import { goBinaryCataloger, goModCataloger } from './catalogers/go.js';
import { javaArchiveCataloger } from './catalogers/java.js';
import { npmLockCataloger, npmPackageCataloger, pnpmLockCataloger, yarnLockCataloger } from './catalogers/npm.js';
import { osReleaseCataloger } from './catalogers/os-release.js';
import { composerInstalledCataloger, composerLockCataloger } from './catalogers/php.js';
import { pythonLockCataloger, pythonPackageCataloger, pythonRequirementsCataloger } from './catalogers/python.js';
import { rpmCataloger } from './catalogers/rpm.js';
import { cargoLockCataloger, rustAuditableCataloger } from './catalogers/rust.js';
import { gemfileLockCataloger, gemspecCataloger } from './catalogers/ruby.js';

export const ALL_CATALOGERS: readonly Cataloger[] = [
  osReleaseCataloger,
  dpkgCataloger,
  dpkgStatusDCataloger,
  dpkgCopyrightCataloger,
  apkCataloger,
  rpmCataloger,
  npmPackageCataloger,
  npmLockCataloger,
  yarnLockCataloger,
  pnpmLockCataloger,
  pythonPackageCataloger,
  pythonLockCataloger,
  pythonRequirementsCataloger,
  gemspecCataloger,
  gemfileLockCataloger,
  composerLockCataloger,
  composerInstalledCataloger,
  dotnetDepsCataloger,
  goBinaryCataloger,
  goModCataloger,
  javaArchiveCataloger,
  cargoLockCataloger,
  rustAuditableCataloger,
];
