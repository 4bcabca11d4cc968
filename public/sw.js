// Kassa's service worker: the cart page and the shop's assets stay available offline, so a
// shopper can open and edit the cart with the server unreachable (it lives in localStorage).
// Pages are fetched from the network first and fall back to the last copy; hashed assets
// (/pkg/) and pictures come from the cache first. Orders, checkout and the APIs are never
// cached: they hold private or live data.
const CACHE = "kassa-v1";

async function precacheCart() {
  const cache = await caches.open(CACHE);
  const response = await fetch("/cart", { credentials: "omit" });
  if (!response.ok) return;
  const html = await response.clone().text();
  await cache.put("/cart", response);
  // The scripts, WASM and stylesheet the cart page needs, hashed names included (the WASM is
  // named by the islands loader's `data-wasm`: it is fetched when the page is idle, not linked).
  const assets = [...new Set(html.match(/\/pkg\/[\w.\-]+/g) || [])];
  // The lazy islands' parts (the cart's contents, the product's buy box…) are fetched when an
  // island needs them: the list in `data-split-manifest` names them all, so a cart opened for
  // the first time offline still works.
  const manifest = assets.find((a) => a.endsWith(".json"));
  const parts = manifest ? await lazyIslandParts(manifest) : [];
  await cache.addAll([...new Set([...assets.filter((a) => a !== manifest), ...parts])]);
}

async function lazyIslandParts(manifest) {
  try {
    const response = await fetch(manifest, { credentials: "omit" });
    if (!response.ok) return [];
    const islands = await response.json();
    const dir = manifest.slice(0, manifest.lastIndexOf("/") + 1);
    return [...new Set(Object.values(islands).flat())].map((part) => `${dir}${part}.wasm`);
  } catch {
    return [];
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(precacheCart().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function cacheable(url) {
  const p = url.pathname;
  return !(p.startsWith("/api/") || p.startsWith("/admin") || p.startsWith("/orders/") ||
    p.startsWith("/checkout") || p.startsWith("/webhooks/"));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || !cacheable(url)) return;
  const p = url.pathname;
  if (p.startsWith("/pkg/") || p.startsWith("/demo/") || p.startsWith("/media/")) {
    event.respondWith(
      // Compression makes responses vary by Accept-Encoding; any stored copy will do.
      caches.match(request, { ignoreVary: true }).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(request, copy));
          }
          return response;
        })
        .catch(() =>
          caches
            .match(request, { ignoreSearch: true, ignoreVary: true })
            .then((hit) => hit || caches.match("/cart", { ignoreVary: true })),
        ),
    );
  }
});
