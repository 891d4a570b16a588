/** Every cataloger Portcullis runs, in one list: the SBOM, the layer cache key and the scanner use it. */
import type { Cataloger } from './cataloger.js';
import { apkCataloger } from './catalogers/apk.js';
import { bunLockCataloger } from './catalogers/bun.js';
import { podfileLockCataloger } from './catalogers/cocoapods.js';
import { conanLockCataloger } from './catalogers/conan.js';
import { condaEnvironmentCataloger, condaMetaCataloger } from './catalogers/conda.js';
import { pubspecLockCataloger } from './catalogers/dart.js';
import { dotnetDepsCataloger, nugetCentralCataloger, nugetLockCataloger, packagesConfigCataloger } from './catalogers/dotnet.js';
import { dpkgCataloger, dpkgCopyrightCataloger, dpkgStatusDCataloger } from './catalogers/dpkg.js';
import { mixLockCataloger } from './catalogers/elixir.js';
import { goBinaryCataloger, goModCataloger } from './catalogers/go.js';
import { javaArchiveCataloger } from './catalogers/java.js';
import { juliaManifestCataloger } from './catalogers/julia.js';
import { gradleLockCataloger, sbtLockCataloger } from './catalogers/maven-locks.js';
import { npmLockCataloger, npmPackageCataloger, pnpmLockCataloger, yarnLockCataloger } from './catalogers/npm.js';
import { osReleaseCataloger } from './catalogers/os-release.js';
import { composerInstalledCataloger, composerLockCataloger } from './catalogers/php.js';
import { pythonLockCataloger, pythonPackageCataloger, pythonRequirementsCataloger } from './catalogers/python.js';
import { rpmCataloger } from './catalogers/rpm.js';
import { cargoLockCataloger, rustAuditableCataloger } from './catalogers/rust.js';
import { gemfileLockCataloger, gemspecCataloger } from './catalogers/ruby.js';
import { swiftResolvedCataloger } from './catalogers/swift.js';

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
  bunLockCataloger,
  pythonPackageCataloger,
  pythonLockCataloger,
  pythonRequirementsCataloger,
  gemspecCataloger,
  gemfileLockCataloger,
  composerLockCataloger,
  composerInstalledCataloger,
  dotnetDepsCataloger,
  nugetLockCataloger,
  packagesConfigCataloger,
  nugetCentralCataloger,
  goBinaryCataloger,
  goModCataloger,
  javaArchiveCataloger,
  gradleLockCataloger,
  sbtLockCataloger,
  cargoLockCataloger,
  rustAuditableCataloger,
  mixLockCataloger,
  pubspecLockCataloger,
  swiftResolvedCataloger,
  podfileLockCataloger,
  conanLockCataloger,
  condaMetaCataloger,
  condaEnvironmentCataloger,
  juliaManifestCataloger,
];
