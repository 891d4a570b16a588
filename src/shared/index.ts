export { AppError, isAppError } from './app-error.js';
export { silentLogger, type LogFn, type Logger } from './logger.js';
export { parseDuration, parseSize } from './units.js';
export { describeNetworkFailure, httpExchange, networkReason, readReply, replyHeader, replyOk, type HttpExchange, type HttpReply } from './http.js';
