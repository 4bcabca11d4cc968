// Prints the size of the built WASM and JS: raw, gzip (level 9) and brotli (quality 11),
// the way a browser receives them from a CDN that precompresses.
//
// The release build is split (`cargo leptos build --split`): the first load is the main WASM,
// its JavaScript and the lazy islands' loader, which every shop page fetches; each lazy island
// (the product's buy box, the cart's contents, checkout, the order page's test authentication)
// then fetches its own parts, listed in `__wasm_split_manifest*.json`, only on a page that has it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const dir = process.argv[2] ?? "target/site/pkg";
const files = readdirSync(dir).filter((f) => /\.(wasm|js|css)$/.test(f)).sort();
const kb = (n) => (n / 1024).toFixed(1).padStart(8) + " KB";
const sizes = new Map();
for (const file of files) {
  const data = readFileSync(join(dir, file));
  const gzip = gzipSync(data, { level: 9 }).length;
  const brotli = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  }).length;
  sizes.set(file, { raw: data.length, gzip, brotli });
}
const sum = (names) =>
  names.reduce(
    (t, f) => ({ raw: t.raw + sizes.get(f).raw, gzip: t.gzip + sizes.get(f).gzip, brotli: t.brotli + sizes.get(f).brotli }),
    { raw: 0, gzip: 0, brotli: 0 },
  );
const line = (label, s) => console.log(`${label.padEnd(44)}${kb(s.raw)} ${kb(s.gzip)} ${kb(s.brotli)}`);

console.log(`${"file".padEnd(44)}${"raw".padStart(11)}${"gzip".padStart(11)}${"brotli".padStart(11)}`);
const isPart = (f) => /^(chunk_|split_)/.test(f);
for (const file of files.filter((f) => !isPart(f))) line(file, sizes.get(file));

const firstLoad = files.filter((f) => !isPart(f) && !f.endsWith(".css"));
const first = sum(firstLoad);
line("first load (wasm + js)", first);

const manifestFile = readdirSync(dir).find((f) => /^__wasm_split_manifest.*\.json$/.test(f));
if (manifestFile) {
  const manifest = JSON.parse(readFileSync(join(dir, manifestFile), "utf8"));
  console.log(`\n${"lazy part: its files, then with the first load".padEnd(44)}`);
  for (const [island, parts] of Object.entries(manifest).sort()) {
    const own = sum(parts.map((p) => `${p}.wasm`));
    const name = island.replace(/(_loader)?_\d+$/, "");
    line(`  ${name}`, own);
    line(`  ${name}, with the first load`, {
      raw: own.raw + first.raw,
      gzip: own.gzip + first.gzip,
      brotli: own.brotli + first.brotli,
    });
  }
  line("every lazy part", sum(files.filter(isPart)));
}
