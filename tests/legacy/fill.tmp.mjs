import Redis from 'ioredis';
import { writeLegacyFixture } from './fixture.mjs';
const r = new Redis(process.argv[2]);
await r.flushall();
await writeLegacyFixture(r, { sync: 80_000, copies: 8_000, candidates: 10_000, expired: 1_000, audit: 2_000, unrelated: Number(process.argv[3] ?? 0) });
r.disconnect();
