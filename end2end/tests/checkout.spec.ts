import { test, expect, type Page, type APIRequestContext } from "@playwright/test";
import { hydrated } from "./support";

type Variant = { id: number; sku: string; title: string; available: number };

async function variantsOf(request: APIRequestContext, slug: string): Promise<Variant[]> {
  const response = await request.get(`/api/v1/products/${slug}`);
  expect(response.ok()).toBeTruthy();
  const product = await response.json();
  return product.variants;
}

/** Variants of a product with at least `units` in stock. */
async function inStock(request: APIRequestContext, slug: string, units: number): Promise<Variant[]> {
  return (await variantsOf(request, slug)).filter((v) => v.available >= units);
}

async function addVariant(page: Page, slug: string, variant: Variant) {
  await page.goto(`/products/${slug}?variant=${variant.id}`);
  await hydrated(page);
  const count = page.getByTestId("cart-count");
  const before = Number(await count.textContent());
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(count).toHaveText(String(before + 1));
}

async function fillCheckout(page: Page, card: string) {
  await page.getByLabel("Email").fill("erika@example.com");
  await page.getByLabel("Full name").fill("Erika Mustermann");
  await page.getByLabel("Street and number").fill("Heidestraße 17");
  await page.getByLabel("Postal code").fill("51147");
  await page.getByLabel("City").fill("Köln");
  await page.getByLabel("Card number").fill(card);
  await expect(page.getByTestId("order-total")).toContainText("€");
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

test("the whole journey: two variants, offline edits, re-quote, pay, confirmation", async ({ page, context, request }) => {
  const errors = watchErrors(page);
  const [first, second] = await inStock(request, "mountain-dawn-print", 3);
  expect(second, "the demo print has two variants in stock").toBeTruthy();
  await addVariant(page, "mountain-dawn-print", first);
  await addVariant(page, "mountain-dawn-print", second);

  await page.goto("/cart");
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("cart-line")).toHaveCount(2);
  const subtotal = page.getByTestId("cart-subtotal");
  await expect(subtotal).toHaveAttribute("data-confirmed", "true");

  // Offline: the cart stays, can be edited, and checkout says it needs a connection.
  await context.setOffline(true);
  await expect(page.getByTestId("offline-notice")).toBeVisible();
  await page.getByRole("button", { name: "One more" }).first().click();
  await expect(page.getByTestId("line-quantity").first()).toHaveText("2");
  await expect(page.getByTestId("cart-count")).toHaveText("3");
  await expect(subtotal).toHaveAttribute("data-confirmed", "false");
  await expect(page.getByTestId("to-checkout")).toHaveText("Checkout needs a connection");

  // Back online: the edited cart is priced by the server again.
  await context.setOffline(false);
  await expect(page.getByTestId("offline-notice")).toBeHidden();
  await expect(subtotal).toHaveAttribute("data-confirmed", "true");

  await page.getByTestId("to-checkout").click();
  await expect(page).toHaveURL(/\/checkout$/);
  await hydrated(page);
  await fillCheckout(page, "4242 4242 4242 4242");
  const total = await page.getByTestId("order-total").textContent();
  await page.getByTestId("place-order").click();

  await expect(page).toHaveURL(/\/orders\/[0-9a-f]{32}$/);
  await expect(page.getByRole("heading", { name: "Thank you for your order!" })).toBeVisible();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  await expect(page.getByTestId("order-page-total")).toHaveText(total!.trim());
  await hydrated(page);
  await expect(page.getByTestId("cart-count")).toHaveText("0");
  expect(errors).toEqual([]);
});

test("a declined card keeps the shopper on checkout with the cart intact", async ({ page, request }) => {
  const [variant] = await inStock(request, "stoneware-mug", 2);
  await addVariant(page, "stoneware-mug", variant);
  await page.goto("/checkout");
  await hydrated(page);
  await fillCheckout(page, "4000 0000 0000 0002");
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("checkout-message")).toContainText("Your card was declined");
  await expect(page).toHaveURL(/\/checkout$/);
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  // Another card then goes through.
  await page.getByLabel("Card number").fill("4242424242424242");
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
});

test("a card that asks for authentication is confirmed on the order page", async ({ page, request }) => {
  const [variant] = await inStock(request, "stoneware-mug", 2);
  await addVariant(page, "stoneware-mug", variant);
  await page.goto("/checkout");
  await hydrated(page);
  await fillCheckout(page, "4000 0027 6000 3184");
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("order-status")).toHaveText("Waiting for payment");
  await hydrated(page);
  await page.getByTestId("complete-authentication").click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
});

test("stock bought by someone else meanwhile is refused, naming the item", async ({ page, request }) => {
  const variants = await inStock(request, "ridge-fleece-hoodie", 1);
  const variant = variants[variants.length - 1];
  await addVariant(page, "ridge-fleece-hoodie", variant);
  await page.goto("/checkout");
  await hydrated(page);
  await fillCheckout(page, "4242 4242 4242 4242");

  // Another shopper buys every unit left.
  const left = (await variantsOf(request, "ridge-fleece-hoodie")).find((v) => v.id === variant.id)!.available;
  const rival = await request.post("/api/v1/checkout", {
    headers: { "Idempotency-Key": `rival-${Date.now()}` },
    data: {
      email: "rival@example.com",
      shipping_address: { name: "R", line1: "Street 1", city: "Berlin", postal_code: "10115", country: "DE" },
      lines: [{ variant_id: variant.id, quantity: left }],
      payment: { gateway: "test", token: "pm_card_visa" },
    },
  });
  expect(rival.status()).toBe(201);

  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("checkout-message")).toContainText("sold out");
  await expect(page).toHaveURL(/\/checkout$/);
});

test("after one visit the cart page opens with the shop unreachable", async ({ page, context }) => {
  await page.goto("/products/stoneware-mug");
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await page.goto("/cart");
  await hydrated(page);
  // The service worker has installed and kept the cart page and its assets.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect
    .poll(() => page.evaluate(async () => (await caches.match("/cart")) !== undefined))
    .toBe(true);
  // The WASM that makes the cart editable is kept too.
  await expect
    .poll(() =>
      page.evaluate(async () =>
        (await (await caches.open("kassa-v1")).keys()).some((r) => r.url.endsWith(".wasm")),
      ),
    )
    .toBe(true);
  await context.setOffline(true);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("cart-line")).toHaveCount(1);
  await expect(page.getByTestId("offline-notice")).toBeVisible();
  await page.getByRole("button", { name: "One more" }).click();
  await expect(page.getByTestId("line-quantity")).toHaveText("2");
  await context.setOffline(false);
});

test("a cart page never opened online still works offline", async ({ page, context }) => {
  // The cart page's contents are a lazy island: its part of the WASM is fetched only when a
  // cart page asks for it. The service worker keeps every part when it installs.
  await page.goto("/products/stoneware-mug");
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect
    .poll(() => page.evaluate(async () => (await caches.match("/cart")) !== undefined))
    .toBe(true);
  const parts = await page.evaluate(async () => {
    const manifest = document.querySelector("script[data-split-manifest]")!.getAttribute(
      "data-split-manifest",
    )!;
    const islands: Record<string, string[]> = await (await fetch(manifest)).json();
    return Object.keys(islands);
  });
  expect(parts.some((island) => island.startsWith("cart_contents"))).toBe(true);
  await expect
    .poll(() =>
      page.evaluate(async () =>
        (await (await caches.open("kassa-v1")).keys()).some((r) =>
          r.url.includes("/pkg/split_cart_contents_loader"),
        ),
      ),
    )
    .toBe(true);
  await context.setOffline(true);
  await page.goto("/cart");
  await hydrated(page);
  await expect(page.getByTestId("cart-line")).toHaveCount(1);
  await page.getByRole("button", { name: "One more" }).click();
  await expect(page.getByTestId("line-quantity")).toHaveText("2");
  await context.setOffline(false);
});

/** Presses Tab until `target` has the focus, as a keyboard user moves through a page. */
async function tabTo(page: Page, target: import("@playwright/test").Locator, most = 120) {
  for (let i = 0; i < most; i++) {
    await page.keyboard.press("Tab");
    if (await target.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`${target} cannot be reached with Tab`);
}

test("the purchase journey by keyboard alone", async ({ page, request }) => {
  const errors = watchErrors(page);
  const [variant] = await inStock(request, "ridge-fleece-hoodie", 2);
  await page.goto(`/products/ridge-fleece-hoodie?variant=${variant.id}`);
  await hydrated(page);

  // Arrow keys move through an option's values, as in any radio group.
  const size = page.getByRole("radio", { name: variant.title.split(" / ")[1], exact: true });
  await tabTo(page, size);
  await page.keyboard.press("ArrowRight");
  await expect(page).not.toHaveURL(new RegExp(`variant=${variant.id}$`));
  await page.keyboard.press("ArrowLeft");
  await expect(page).toHaveURL(new RegExp(`variant=${variant.id}$`));
  await expect(size).toBeChecked();

  await tabTo(page, page.locator(".buy-row").getByRole("button", { name: "Add to cart" }));
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("cart-count")).toHaveText("1");

  await page.keyboard.press("Shift+Tab");
  await tabTo(page, page.getByRole("link", { name: /^Cart/ }));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/cart$/);
  await hydrated(page);
  await tabTo(page, page.getByTestId("to-checkout"));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/checkout$/);
  await hydrated(page);

  for (const [label, value] of [
    ["Email", "erika@example.com"],
    ["Full name", "Erika Mustermann"],
    ["Street and number", "Heidestraße 17"],
    ["Postal code", "51147"],
    ["City", "Köln"],
    ["Card number", "4242 4242 4242 4242"],
  ]) {
    await tabTo(page, page.getByLabel(label, { exact: true }));
    await page.keyboard.type(value);
  }
  await expect(page.getByTestId("order-total")).toContainText("€");
  await tabTo(page, page.getByTestId("place-order"));
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/orders\/[0-9a-f]{32}$/);
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  expect(errors).toEqual([]);
});
