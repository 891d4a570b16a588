export { AppError, isAppError } from './app-error.js';
export { silentLogger, type LogFn, type Logger } from './logger.js';
export { parseDuration, parseSize } from './units.js';
