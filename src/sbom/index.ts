export { ALL_CATALOGERS } from './all-catalogers.js';
export { assembleInventory, purlOf, type LocatedFindings } from './assemble.js';
export { analyzeDirectory, analyzeImage, catalogDirectory, catalogersKey, catalogImage, imageResultKey, type AnalyzerResults, type CatalogOptions, type CatalogProgress, type FileAnalyzer, type ImageAnalysis } from './catalog.js';
export { bytesOf, DEFAULT_MAX_BYTES, fileFromBytes, textOf, type CatalogContext, type Cataloger, type CatalogFile } from './cataloger.js';
export { imagePurl, toCycloneDx, type WriterOptions } from './cyclonedx.js';
export { formatInventory, INVENTORY_SCHEMA, isSbomFormat, SBOM_FORMATS, type SbomFormat } from './format.js';
export { isSpdxExpression, normalizeLicense, normalizeLicenses, toSpdxId } from './licenses.js';
export { PACKAGE_TYPES, packageKey, type Distro, type Finding, type ImageSubject, type Inventory, type Location, type Package, type PackageType, type RawPackage } from './model.js';
export { toSpdx } from './spdx.js';
