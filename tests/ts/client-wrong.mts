// Deliberately wrong uses of the client: `tsc -p tests/ts/client-wrong.tsconfig.json` must reject every line marked ERR.
import { Redis } from 'ioredis';
import { createXbot } from 'xbot-redis';

const xbot = createXbot<{ text: string }>(new Redis());
await xbot.queue('sync_to_supabase').push({ table: 'tweets', row: { text: 'no id' } }); // ERR: a sync row needs an id
await xbot.queue('sync_to_supabase').push({ tweetId: '1', likes: 1, retweets: 0, replies: 0, impressions: 1 }); // ERR: analytics payload on the sync queue
await xbot.queue('pending_posts').push({ body: 'hi' }); // ERR: not the bot's pending post type
xbot.queue('sync_queue'); // ERR: unknown queue
xbot.lock('posting'); // ERR: unknown lock name
await xbot.withLock('posting_lock', async () => 1); // ERR: unknown lock name
await xbot.rateLimit.hit('daily'); // ERR: unknown limiter
await xbot.bandit.update('mood', 'calm', 1); // ERR: unknown bandit
const stats = xbot.queue('pending_posts').stats();
const ready: number = stats.ready; // ERR: a missing await: stats is a Promise
const mark = xbot.dedup.mark('text');
if (mark.new) console.log('new'); // ERR: a missing await: mark is a Promise
await xbot.queue('pending_posts').push({ text: 'x' }, { priority: '5' }); // ERR: priority is a number
createXbot(new Redis(), { legacy: true }); // ERR: legacy is false or {prefixes}
createXbot(new Redis(), { legacy: { prefixes: 'prod:' } }); // ERR: prefixes is a list
export { ready };
