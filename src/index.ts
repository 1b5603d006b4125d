// The npm package `xbot-redis`: the core's pure functions (the napi addon) and
// the bot's typed client over its own ioredis connection.
export * from './native';
export { createXbot, Xbot, type XbotOptions, type BanditKind, type StatsPeriod, type Limiter } from './client';
export { COMMAND_PREFIX, registerScripts, type Connection } from './connection';
export { XbotError, errorCode } from './errors';
export { Lock } from './lock';
export { Queue, type KeyScope } from './queue';
export { Worker, type WorkContext, type WorkHandler, type WorkOptions } from './worker';
export type * from './types';
