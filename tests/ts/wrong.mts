// Deliberately wrong calls: `tsc --noEmit -p tests/ts/wrong.tsconfig.json` must reject every line marked ERR.
import { buildKey, queueScore, thompsonSelect, contentHash } from 'xbot-redis';
import * as web from '../../bindings-wasm/pkg/index.js';

queueScore('50', Date.now()); // ERR: priority is a number
thompsonSelect([{ id: 'ai', alpha: 3 }], 7); // ERR: beta missing
const h: number = contentHash('x'); // ERR: returns a string
buildKey('cache.tweet', { tweetId: true }); // ERR: params are strings or numbers
web.scripts(); // ERR: the Lua sources are in the Node package only
export { h };
