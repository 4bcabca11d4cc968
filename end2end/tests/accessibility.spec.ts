import { test, expect, type Page } from "@playwright/test";
import { violations } from "./support";

// axe-core's WCAG 2.1 A and AA rules on the shopper's pages, hydrated, at a desktop width and
// on a phone. A violation fails the test and names the rule, the element and how to fix it.

const pages: [string, string][] = [
  ["home", "/"],
  ["collection", "/collections/apparel"],
  ["collection, filtered to nothing", "/collections/apparel?min=100000"],
  ["product", "/products/ridge-fleece-hoodie"],
  ["product on sale", "/products/cabin-wool-socks"],
  ["search", "/search?q=merino"],
  ["search without results", "/search?q=zebra"],
  ["cart", "/cart"],
  ["checkout", "/checkout"],
  ["page not found", "/no-such-page"],
];

for (const [width, height, device] of [
  [1280, 800, "desktop"],
  [412, 915, "phone"],
] as const) {
  test.describe(`accessibility on a ${device}`, () => {
    test.use({ viewport: { width, height } });
    for (const [name, path] of pages) {
      test(`${name} (${path})`, async ({ page }) => {
        await page.goto(path);
        await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
        expect(await violations(page)).toEqual([]);
      });
    }
  });
}

test("the check fails on a page with a violation", async ({ page }) => {
  // Guards the guard: a picture without a text alternative must be reported.
  await page.goto("/");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.evaluate(() => {
    const img = document.createElement("img");
    img.src = "/favicon.svg";
    document.querySelector("main")!.prepend(img);
  });
  const found = await violations(page);
  expect(found.some((v) => v.startsWith("image-alt"))).toBe(true);
});
