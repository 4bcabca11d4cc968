// Prints the size of the built WASM and JS: raw, gzip (level 9) and brotli (quality 11),
// the way a browser receives them from a CDN that precompresses.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const dir = process.argv[2] ?? "target/site/pkg";
const files = readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f)).sort();
const kb = (n) => (n / 1024).toFixed(1).padStart(8) + " KB";
let total = { raw: 0, gzip: 0, brotli: 0 };
console.log(`${"file".padEnd(36)}${"raw".padStart(11)}${"gzip".padStart(11)}${"brotli".padStart(11)}`);
for (const file of files) {
  const data = readFileSync(join(dir, file));
  const gzip = gzipSync(data, { level: 9 }).length;
  const brotli = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }).length;
  if (!file.endsWith(".css")) {
    total.raw += data.length; total.gzip += gzip; total.brotli += brotli;
  }
  console.log(`${file.padEnd(36)}${kb(data.length)} ${kb(gzip)} ${kb(brotli)}`);
}
console.log(`${"first load (wasm + js)".padEnd(36)}${kb(total.raw)} ${kb(total.gzip)} ${kb(total.brotli)}`);
