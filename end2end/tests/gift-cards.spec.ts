import { test, expect } from "@playwright/test";
import { hydrated, signIn, violations } from "./support";

// Staff issue a card (its code shown once); a shopper pays part of an order with it and the
// rest by card; the card's page shows the spend.
test("a gift card issued by staff pays part of an order, the card the rest", async ({ page, browser }) => {
  await signIn(page);
  await page.goto("/admin/discounts");
  await page.getByRole("link", { name: "Gift cards" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Gift cards" })).toBeVisible();
  expect(await violations(page)).toEqual([]);
  const form = page.getByTestId("issue-gift-card");
  await form.getByLabel("Value").fill("5.00");
  await form.getByLabel("Note for staff (optional)").fill("E2E");
  await form.getByRole("button", { name: "Issue gift card" }).click();
  const code = (await page.getByTestId("gift-card-code").textContent())!.trim();
  expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
  const last4 = code.slice(-4);
  await page.getByRole("link", { name: "The card's page" }).click();
  await expect(page.getByTestId("gift-card-balance")).toContainText("€5.00 left of €5.00");
  const cardUrl = page.url();

  const shopper = await browser.newContext();
  const shop = await shopper.newPage();
  const errors: string[] = [];
  shop.on("pageerror", (error) => errors.push(error.message));
  await shop.goto("/products/stoneware-mug");
  await hydrated(shop);
  await shop.getByRole("button", { name: "Add to cart" }).click();
  await expect(shop.getByTestId("cart-count")).toHaveText("1");
  await shop.goto("/checkout");
  await hydrated(shop);
  await shop.getByLabel("Email").fill(`gift.${Date.now()}@example.com`);
  await shop.getByLabel("Full name").fill("Erika Mustermann");
  await shop.getByLabel("Street and number").fill("Heidestraße 17");
  await shop.getByLabel("Postal code").fill("51147");
  await shop.getByLabel("City").fill("Köln");

  // A wrong code is refused with its reason; the right one, typed loosely, pays €5.00.
  await shop.getByLabel("Gift card").fill("AAAA-BBBB-CCCC-DDDD");
  await shop.getByTestId("apply-gift-card").click();
  await expect(shop.getByTestId("gift-card-message")).toContainText("We do not know this gift card code");
  await shop.getByLabel("Gift card").fill(code.toLowerCase().replaceAll("-", " "));
  await shop.getByLabel("Gift card").press("Enter");
  await expect(shop.getByTestId("applied-gift-card")).toContainText(`Gift card ••••${last4}: −€5.00`);
  await expect(shop.getByTestId("gift-card-message")).toHaveText("");
  const due = (await shop.getByTestId("amount-due").textContent())!.trim();
  const total = (await shop.getByTestId("order-total").textContent())!.trim();
  const cents = (text: string) => Math.round(parseFloat(text.replace(/[^0-9.]/g, "")) * 100);
  expect(cents(total) - cents(due)).toBe(500);
  expect(await violations(shop)).toEqual([]);

  await shop.getByLabel("Card number").fill("4242 4242 4242 4242");
  await shop.getByTestId("place-order").click();
  await expect(shop.getByTestId("order-status")).toHaveText("Paid");
  await expect(shop.getByTestId("order-gift-card")).toHaveText(`Gift card ••••${last4}`);
  await expect(shop.getByTestId("order-amount-due")).toHaveText(due);
  expect(errors).toEqual([]);
  await shopper.close();

  // Staff see the spend on the card's ledger.
  await page.goto(cardUrl);
  await expect(page.getByTestId("gift-card-balance")).toContainText("€0.00 left of €5.00");
  await expect(page.getByTestId("ledger-row")).toHaveCount(2);
  await expect(page.getByTestId("ledger-row").nth(1)).toContainText("redeem");
});
