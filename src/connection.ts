// The bot's own ioredis connection, and the protocol's scripts on it.
import type { Cluster, Redis } from 'ioredis';
import * as native from './native';
import { XbotError } from './errors';

/** The bot's ioredis connection: a `Redis` or a `Cluster` (ioredis ≥ 5). */
export type Connection = Redis | Cluster;

/** A script reply as ioredis gives it (integers as numbers, bulk strings as strings). */
export type Reply = null | number | string | Buffer | Reply[];

type ScriptFn = (...args: Array<string | number>) => Promise<Reply>;

const { version } = require('../package.json') as { version: string };

/**
 * The prefix of the commands this package version defines on a connection
 * (`xbot_0_1_0_queue_push`, …): two versions of the package can share one
 * connection without calling each other's scripts.
 */
export const COMMAND_PREFIX = `xbot_${version.replace(/[^0-9A-Za-z]/g, '_')}_`;

const SCRIPTS = native.scripts();

/**
 * Defines every script of the protocol on `redis` once (ioredis sends
 * EVALSHA and reloads the script on NOSCRIPT). The sources are the runner's
 * bytes, from the core.
 */
export function registerScripts(redis: Connection): void {
  const target = redis as unknown as Record<string, unknown>;
  for (const s of SCRIPTS) {
    const name = COMMAND_PREFIX + s.name;
    if (typeof target[name] === 'function') continue;
    redis.defineCommand(name, { numberOfKeys: s.numberOfKeys, lua: s.source, readOnly: s.readOnly });
  }
}

/** Refuses a connection whose `keyPrefix` would be glued onto our keys a second time. */
export function checkConnection(redis: Connection): void {
  if (redis === null || typeof redis !== 'object' || typeof (redis as { defineCommand?: unknown }).defineCommand !== 'function') {
    throw new XbotError('CONFIG', 'createXbot needs an ioredis Redis or Cluster instance (ioredis >= 5)');
  }
  const opts = (redis as { options?: { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } }).options ?? {};
  const prefix = opts.keyPrefix || opts.redisOptions?.keyPrefix;
  if (prefix) {
    throw new XbotError(
      'CONFIG',
      `this ioredis connection has keyPrefix ${JSON.stringify(prefix)}: xbot-redis builds whole keys (with its own prefix), ` +
        'so every key would be prefixed twice. Pass a connection without keyPrefix and give the prefix to createXbot({prefix}).',
    );
  }
}

/** The command name of each script on a connection (built once, not per call). */
const COMMANDS: Record<string, string> = Object.fromEntries(SCRIPTS.map((s) => [s.name, COMMAND_PREFIX + s.name]));

/** Runs one protocol script on `target` (the connection, or a pipeline). */
export function runScript(target: unknown, name: string, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<Reply> {
  const fn = (target as Record<string, ScriptFn>)[COMMANDS[name]];
  return fn.apply(target, (keys as Array<string | number>).concat(args));
}
