// The bot's posting loop on xbot-redis, as a TypeScript project writes it.
// Compiled with `tsc --strict` by the tests (tests/node/types.test.mjs).
import { Redis } from 'ioredis';
import { createXbot, type QueueItem, type WorkContext } from 'xbot-redis';

/** What the bot schedules in `pending_posts`. */
interface Post {
  text: string;
  topic: string;
  hour: string;
}

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const xbot = createXbot<Post>(redis, { prefix: process.env.REDIS_PREFIX ?? 'app:' });

/** Stands in for the X API. */
async function publish(text: string, signal: AbortSignal): Promise<string> {
  if (signal.aborted) throw new Error('lock lost before publishing');
  return `tweet-${Date.now()}-${text.length}`;
}

/** One post: pick a topic, check limits and duplicates, publish, record. */
export async function postOnce(candidates: Record<string, string>): Promise<string | null> {
  return xbot.withLock('posting_in_progress', async (signal, fence) => {
    const limit = await xbot.rateLimit.hit('posting');
    if (!limit.allowed) return null; // try again after limit.resetAtMs
    const choice = await xbot.bandit.select('topic', Object.keys(candidates));
    const text = candidates[choice.id];
    const mark = await xbot.dedup.mark(text, { holder: `fence-${fence}` });
    if (!mark.new) return null; // posted before (by mark.holder)
    const tweetId = await publish(text, signal);
    await xbot.queue('sync_to_supabase').push({ table: 'tweets', op: 'upsert', row: { id: tweetId, text, topic: choice.id } });
    await xbot.stats.incr('daily', 'posts');
    await xbot.recent.push({ id: tweetId, text });
    return tweetId;
  }, { leaseMs: 60_000 });
}

/** Posts scheduled items when they are due. */
export function startPostingWorker() {
  return xbot.queue('pending_posts').work(async (item: QueueItem<Post>, ctx: WorkContext) => {
    if (ctx.attempt > 1) console.warn(`retrying ${item.id} (attempt ${ctx.attempt}; ${item.retryCount} failed before)`);
    const tweetId = await publish(item.data.text, ctx.signal);
    await xbot.queue('analytics_processing').push({
      tweetId, likes: 0, retweets: 0, replies: 0, impressions: 0, topic: item.data.topic, hour: item.data.hour,
    });
  }, { concurrency: 2, leaseMs: 60_000 });
}

export async function schedule(post: Post, atMs: number) {
  return xbot.queue('pending_posts').push(post, { notBeforeMs: atMs, priority: 60 });
}
