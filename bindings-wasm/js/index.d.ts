// Types of the browser package: the generated declarations (the text
// functions keep their generated signatures).
export * from './xbot_redis.js';
export { default } from './xbot_redis.js';
