// The live feed client (`GET /api/feed`, Server-Sent Events), following the server's
// protocol: on `feed.ready` reload the lists, then apply events on top (by `version`);
// on `feed.reset` reconnect and reload; on `feed.closed` the token is gone: sign in again.
// Handlers get `(subject, payload, receivedAt)`; `receivedAt` is performance.now().

const SUBJECTS = ["panic.alert_raised", "panic.alert_changed", "panic.escalated", "panic.unit_changed"];

export class Feed {
  constructor(api, { onReady, onEvent, onClosed, onState }) {
    this.api = api;
    this.onReady = onReady;
    this.onEvent = onEvent;
    this.onClosed = onClosed || (() => {});
    this.onState = onState || (() => {});
    this.source = null;
    this.retryMs = 1000;
  }

  start() {
    this.stop();
    const url = `/api/feed?access_token=${encodeURIComponent(this.api.token)}`;
    const source = new EventSource(url);
    this.source = source;
    this.onState("connecting");
    source.addEventListener("feed.ready", async () => {
      this.retryMs = 1000;
      this.onState("live");
      await this.onReady();
    });
    source.addEventListener("feed.reset", () => this.restart("reset"));
    source.addEventListener("feed.closed", () => {
      this.stop();
      this.onState("closed");
      this.onClosed();
    });
    for (const subject of SUBJECTS) {
      source.addEventListener(subject, (message) => {
        const receivedAt = performance.now();
        let payload;
        try {
          payload = JSON.parse(message.data);
        } catch {
          return;
        }
        this.onEvent(subject, payload, receivedAt);
      });
    }
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) this.restart("lost");
      else this.onState("reconnecting");
    };
  }

  restart(why) {
    this.stop();
    this.onState(why === "reset" ? "reloading" : "reconnecting");
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 15000);
    this.timer = setTimeout(() => this.start(), wait);
  }

  stop() {
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
