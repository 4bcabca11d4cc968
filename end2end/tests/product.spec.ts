import { test, expect, type Page, type APIRequestContext } from "@playwright/test";
import { hydrated } from "./support";

type Variant = { id: number; title: string; options: string[]; available: number };

/** A demo product with two options where one size is sold out in a colour that has other sizes in stock. */
async function productWithASoldOutSize(request: APIRequestContext) {
  const list = await (await request.get("/api/v1/products?limit=100")).json();
  for (const summary of list.items) {
    const product = await (await request.get(`/api/v1/products/${summary.slug}`)).json();
    const variants: Variant[] = product.variants;
    if (variants[0]?.options.length !== 2) continue;
    const soldOut = variants.find(
      (v) => v.available === 0 && variants.some((w) => w.options[0] === v.options[0] && w.available > 0),
    );
    if (soldOut) {
      const sibling = variants.find((w) => w.options[0] === soldOut.options[0] && w.available > 0)!;
      return { slug: summary.slug as string, soldOut, sibling };
    }
  }
  throw new Error("the demo catalog has no product with a sold-out size");
}

test("a product page hints the buy box's part of the WASM, and the box works once it arrives", async ({ page, request }) => {
  // The buy box is a lazy island: its part of the WASM is fetched when the page has one. The
  // page names that part, and the islands loader fetches it beside the main WASM.
  const parts: string[] = [];
  page.on("request", (r) => {
    if (/\/pkg\/(chunk_|split_)/.test(r.url())) parts.push(new URL(r.url()).pathname);
  });
  await page.goto("/products/stoneware-mug");
  const hints = (await page.locator("[data-lazy-parts]").getAttribute("data-lazy-parts"))!.split(" ");
  expect(hints.some((h) => h.includes("/pkg/split_buy_box_loader"))).toBe(true);
  expect(hints.some((h) => h.includes("checkout_form") || h.includes("cart_contents"))).toBe(false);
  for (const href of hints) {
    const response = await request.get(href);
    expect(response.status(), href).toBe(200);
    expect(response.headers()["content-type"]).toBe("application/wasm");
  }
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  // Only the buy box's parts were fetched: not the cart's, nor checkout's.
  expect(parts.some((p) => p.includes("split_buy_box_loader"))).toBe(true);
  expect(parts.some((p) => p.includes("checkout_form") || p.includes("cart_contents"))).toBe(false);
});

test("one picker per option: a sold-out size is marked and can still be chosen", async ({ page, request }) => {
  const { slug, soldOut, sibling } = await productWithASoldOutSize(request);
  await page.goto(`/products/${slug}?variant=${sibling.id}`);
  await hydrated(page);
  await expect(page.getByTestId("option-group")).toHaveCount(2);
  const size = soldOut.options[1];
  const soldOutSize = page.getByRole("radio", { name: `${size} (sold out)`, exact: true });
  await expect(soldOutSize).not.toBeChecked();
  await expect(page.getByTestId("availability")).not.toHaveText("Sold out");

  await page.locator("label.option-value.sold-out", { hasText: size }).click();
  await expect(soldOutSize).toBeChecked();
  await expect(page).toHaveURL(new RegExp(`variant=${soldOut.id}$`));
  await expect(page.getByTestId("availability")).toHaveText("Sold out");
  await expect(page.locator(".buy-row").getByRole("button", { name: "Sold out" })).toBeDisabled();
});

test("the quantity goes into the cart, and cannot exceed what is left", async ({ page }) => {
  await page.goto("/products/ridge-fleece-hoodie");
  await hydrated(page);
  const more = page.getByRole("button", { name: "One more" });
  await more.click();
  await more.click();
  await expect(page.getByLabel("Quantity")).toHaveValue("3");
  await page.getByLabel("Quantity").fill("100000");
  await page.getByLabel("Quantity").blur();
  const most = await page.getByLabel("Quantity").getAttribute("max");
  await expect(page.getByLabel("Quantity")).toHaveValue(most!);
  await page.getByLabel("Quantity").fill("3");
  await page.getByLabel("Quantity").blur();
  await page.locator(".buy-row").getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("3");
});

test("the gallery: thumbnails, swiping and a larger picture on click", async ({ page }) => {
  await page.goto("/products/ridge-fleece-hoodie");
  await hydrated(page);
  const track = page.locator(".gallery-track");
  const thumbnail = (n: number) => page.getByRole("link", { name: `Picture ${n} of 3`, exact: true });
  await expect(thumbnail(1)).toHaveAttribute("aria-current", "true");

  await thumbnail(3).click();
  await expect(thumbnail(3)).toHaveAttribute("aria-current", "true");
  await expect(thumbnail(1)).not.toHaveAttribute("aria-current", "true");
  await expect.poll(() => track.evaluate((el) => Math.round(el.scrollLeft / el.clientWidth))).toBe(2);
  // The address is the product's, not a picture's.
  await expect(page).toHaveURL(/\/products\/ridge-fleece-hoodie$/);

  // A swipe scrolls the row of pictures; the thumbnails follow.
  await track.evaluate((el) => el.scrollTo({ left: el.clientWidth, behavior: "instant" }));
  await expect(thumbnail(2)).toHaveAttribute("aria-current", "true");

  // A click shows the picture in view enlarged; Escape closes it.
  await page.getByRole("link", { name: /^Enlarge picture 2 of 3/ }).click();
  const dialog = page.getByRole("dialog", { name: "Enlarged picture" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("img")).toHaveAttribute("src", /hoodie-charcoal/);
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 412, height: 915 } });

  test("Add to cart follows along the bottom once the buy box has scrolled away", async ({ page }) => {
    await page.goto("/products/ridge-fleece-hoodie");
    await hydrated(page);
    const sticky = page.getByTestId("sticky-buy");
    await expect(sticky).toBeHidden();
    // A description long enough to read for a while, as real products have.
    await page.locator(".description").evaluate((el) => {
      for (let i = 0; i < 30; i++) el.insertAdjacentHTML("beforeend", "<p>Made to last, and repairable.</p>");
    });
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await expect(sticky).toBeVisible();
    await expect(sticky).toContainText("Ridge Fleece Hoodie");
    await sticky.getByRole("button", { name: "Add to cart" }).click();
    await expect(page.getByTestId("cart-count")).toHaveText("1");
    await page.evaluate(() => window.scrollTo(0, 0));
    await expect(sticky).toBeHidden();
  });

  test("the buy box comes right after the pictures", async ({ page }) => {
    await page.goto("/products/ridge-fleece-hoodie");
    const gallery = (await page.locator(".gallery").boundingBox())!;
    const title = (await page.getByRole("heading", { level: 1 }).boundingBox())!;
    const about = (await page.getByRole("heading", { name: "About this product" }).boundingBox())!;
    expect(title.y).toBeGreaterThan(gallery.y);
    expect(about.y).toBeGreaterThan(title.y);
  });
});

test.describe("on a desktop", () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test("the buy box sits beside the pictures, above the fold", async ({ page }) => {
    await page.goto("/products/ridge-fleece-hoodie");
    const gallery = (await page.locator(".gallery-track").boundingBox())!;
    const add = (await page.locator(".buy-row").getByRole("button", { name: /Add to cart|Sold out/ }).boundingBox())!;
    expect(add.x).toBeGreaterThan(gallery.x + gallery.width);
    expect(add.y + add.height).toBeLessThan(800);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await expect(page.getByTestId("sticky-buy")).toBeHidden();
  });
});
