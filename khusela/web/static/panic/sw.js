// Khusela panic page: service worker (scope /panic).
// It keeps the page's own files so that the page starts with no network at all; the
// page then keeps a pressed alert on the phone and sends it when the network returns.
// The API (/api/...) is never cached or answered from here: it always goes to the server.
"use strict";

// Bump VERSION when SHELL changes; edited files are picked up anyway (refreshed on each start).
const VERSION = "khusela-panic-v1";
const SHELL = [
  "/panic",
  "/panic/manifest.webmanifest",
  "/static/panic/panic.css",
  "/static/panic/panic.js",
  "/static/panic/icon.svg",
  "/static/panic/icon-192.png",
  "/static/panic/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(VERSION).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((n) => n.startsWith("khusela-panic-") && n !== VERSION).map((n) => caches.delete(n)),
      ))
      .then(() => self.clients.claim()),
  );
});

// Stale-while-revalidate for the page's own files: answer from the cache at once (an
// emergency is no time to wait for a slow network), refresh the copy in the background.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(
    caches.open(VERSION).then(async (cache) => {
      const cached = await cache.match(url.pathname);
      const refresh = fetch(request)
        .then((response) => {
          if (response.ok) cache.put(url.pathname, response.clone());
          return response;
        });
      if (cached) {
        event.waitUntil(refresh.then(() => undefined, () => undefined));
        return cached;
      }
      return refresh;
    }),
  );
});
