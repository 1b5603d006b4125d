// A web app's use of the browser build, as the package documents it: the
// default export fetches the .wasm next to the module (the bundler emits it).
import init, { contentHash, normalizeContent } from 'xbot-redis/web';

const text = '  Héllo\tWORLD  🚀  already posted? ';
init().then(
  () => {
    document.querySelector('#text').textContent = JSON.stringify(text);
    document.querySelector('#normalized').textContent = normalizeContent(text);
    document.querySelector('#hash').textContent = contentHash(text);
  },
  (e) => {
    document.querySelector('#hash').textContent = `error: ${e}`;
  },
);
