import { test, expect, type Page } from "@playwright/test";
import { hydrated, signIn, violations } from "./support";

/** Adds a stoneware mug; its unit price in cents. */
async function addMug(page: Page): Promise<number> {
  const product = await (await page.request.get("/api/v1/products/stoneware-mug")).json();
  const variant = product.variants.find((v: { available: number }) => v.available > 2);
  await page.goto(`/products/stoneware-mug?variant=${variant.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  return variant.price.amount;
}

// A code only this test knows, so no other test's totals change.
test("staff make a code; a shopper enters it offline, sees it priced back online and pays with it", async ({ page, browser }) => {
  const code = `E2E${Date.now().toString(36).toUpperCase()}`;
  await signIn(page);
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Discounts" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Discounts" })).toBeVisible();
  await page.getByRole("link", { name: "New discount" }).click();
  const form = page.getByTestId("discount-form");
  await form.getByLabel("Title (shoppers see it)").fill("Winter welcome");
  await form.getByLabel("Code", { exact: true }).fill(code);
  await form.getByLabel("Kind").selectOption("percentage");
  await form.getByLabel("Percent", { exact: true }).fill("10");
  await form.getByLabel("Orders that may use it in all").fill("5");
  await form.getByRole("button", { name: "Save discount" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Discount saved.");
  await expect(page.getByTestId("discount-status")).toContainText("active");
  expect(await violations(page)).toEqual([]);
  const discountUrl = page.url();

  const shopper = await browser.newContext();
  const shop = await shopper.newPage();
  const errors: string[] = [];
  shop.on("pageerror", (error) => errors.push(error.message));
  const price = await addMug(shop);
  await shop.goto("/cart");
  await hydrated(shop);
  await expect(shop.getByTestId("cart-subtotal")).toHaveAttribute("data-confirmed", "true");

  // A code the shop does not know is refused with its reason and leaves the cart.
  await shop.getByLabel("Discount code").fill("NO-SUCH-CODE");
  await shop.getByTestId("apply-code").click();
  await expect(shop.getByTestId("code-message")).toHaveText("NO-SUCH-CODE: This code does not exist.");
  await expect(shop.getByTestId("entered-code")).toHaveCount(0);

  // Offline the code is kept, to be checked when the shop can be reached again.
  await shopper.setOffline(true);
  await expect(shop.getByTestId("offline-notice")).toBeVisible();
  await shop.getByLabel("Discount code").fill(code.toLowerCase());
  await shop.getByLabel("Discount code").press("Enter");
  await expect(shop.getByTestId("entered-code")).toContainText("checked when you are back online");
  await shop.reload().catch(() => {}); // offline: the page may not load; the cart is in storage
  await shopper.setOffline(false);
  await shop.goto("/cart");
  await hydrated(shop);
  await expect(shop.getByTestId("entered-code")).toHaveCount(1);
  const discount = shop.getByTestId("discount");
  await expect(discount).toContainText(`Winter welcome (${code})`);
  await expect(discount).toContainText("−€");
  await expect(shop.getByTestId("cart-after-discounts")).toBeVisible();
  // The mini-cart names it too, while the cart holds what was priced.
  await shop.getByTestId("mini-cart").locator("summary").click();
  await expect(shop.getByTestId("mini-cart-discount")).toContainText(`Winter welcome (${code}): −€`);
  await shop.getByTestId("mini-cart").locator("summary").click();
  expect(await violations(shop)).toEqual([]);

  await shop.getByTestId("to-checkout").click();
  await hydrated(shop);
  await shop.getByLabel("Email").fill(`winter.${Date.now()}@example.com`);
  await shop.getByLabel("Full name").fill("Erika Mustermann");
  await shop.getByLabel("Street and number").fill("Heidestraße 17");
  await shop.getByLabel("Postal code").fill("51147");
  await shop.getByLabel("City").fill("Köln");
  await shop.getByLabel("Card number").fill("4242 4242 4242 4242");
  await expect(shop.getByTestId("summary-discount")).toHaveText(`Winter welcome (${code})`);
  const total = (await shop.getByTestId("order-total").textContent())!.trim();
  await shop.getByTestId("place-order").click();
  await expect(shop.getByTestId("order-status")).toHaveText("Paid");
  await expect(shop.getByTestId("order-discount")).toHaveText(`Winter welcome (${code})`);
  await expect(shop.getByTestId("order-page-total")).toHaveText(total);
  const number = (await shop.getByTestId("order-number").textContent())!.replace("#", "");
  expect(errors).toEqual([]);
  await shopper.close();

  // Staff see the discount on the order and refund the mug at what was paid for it: 10 % off.
  await page.goto(`/admin/orders/${number}`);
  await expect(page.getByTestId("admin-order-discount")).toHaveText(`Winter welcome (${code})`);
  const refundLine = page.getByTestId("refund-line");
  await refundLine.getByLabel("Units", { exact: true }).fill("1");
  await refundLine.getByRole("button", { name: "Refund what they paid" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Refund made.");
  await expect(page.getByTestId("admin-refunded")).toHaveText(`€${((price - price / 10) / 100).toFixed(2)}`);

  // The discount's page lists the order that used it.
  await page.goto(discountUrl);
  await expect(page.getByTestId("discount-status")).toContainText("used by 1 order");
  await expect(page.getByTestId("discount-uses").getByRole("row")).toHaveCount(2);
  page.on("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Deactivate" }).click();
  await expect(page.getByTestId("discount-status")).toContainText("inactive");
});
