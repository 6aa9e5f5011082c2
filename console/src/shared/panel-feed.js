// A console panel's own connection to the live feed (`GET /api/feed`, Server-Sent Events).
// The panel names the subjects it follows; on `feed.ready` after a reconnect it must reload
// its lists (events were missed meanwhile), on `feed.reset` the connection is reopened with
// backoff, and on `feed.closed` the session has ended. One helper so that every panel
// follows the feed's protocol the same way (see khusela/api/feed.py).

/**
 * @param {{token: string|null, forget(): void}} api
 * @param {string[]} subjects
 * @param {{isActive(): boolean, later(fn: () => void, ms: number): void,
 *          onReady(reconnected: boolean): void, onEvent(subject: string, payload: any): void}} hooks
 * @returns {{start(): void, stop(): void}}
 */
export function panelFeed(api, subjects, hooks) {
  let source = null;
  let retry = 1000;
  let readies = 0;

  function start() {
    stop();
    if (!api.token || !hooks.isActive()) return;
    const es = new EventSource(`/api/feed?access_token=${encodeURIComponent(api.token)}`);
    source = es;
    es.addEventListener("feed.ready", () => {
      retry = 1000;
      hooks.onReady(readies++ > 0);
    });
    es.addEventListener("feed.reset", () => restart());
    es.addEventListener("feed.closed", () => {
      stop();
      api.forget();
    });
    for (const subject of subjects) {
      es.addEventListener(subject, (message) => {
        let payload;
        try {
          payload = JSON.parse(message.data);
        } catch {
          return;
        }
        hooks.onEvent(subject, payload);
      });
    }
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) restart();
    };
  }

  function restart() {
    stop();
    const wait = retry;
    retry = Math.min(retry * 2, 15_000);
    hooks.later(start, wait);
  }

  function stop() {
    if (source) source.close();
    source = null;
  }

  return { start, stop };
}
