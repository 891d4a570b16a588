export { guardRejections } from './process-guard.js';
export { packageVersion, splitAddr, startServer, type RunningServer, type StartOptions } from './server.js';
export { openStorage, type OpenedStorage } from './storage.js';
