export { ConfigError, ENV_KEYS, loadConfig, type ConfigSources } from './load.js';
export { configSchema, type Config, type ConfigInput } from './schema.js';
export { parseDuration, parseSize } from '../shared/index.js';
