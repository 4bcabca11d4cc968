import { test, expect, type Page } from "@playwright/test";
import { hydrated } from "./support";

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the home page lists products from the server-rendered HTML", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { name: "Everyday Organic Tee" })).toBeVisible();
    await expect(page.getByTestId("product-card")).toHaveCount(48);
    await expect(page.getByTestId("product-card").first()).toContainText("€");
  });

  test("a product page is readable and links work", async ({ page }) => {
    await page.goto("/");
    await page.getByRole("link", { name: /Ridge Fleece Hoodie/ }).click();
    await expect(page).toHaveURL(/\/products\/ridge-fleece-hoodie$/);
    await expect(page.getByRole("heading", { level: 1, name: "Ridge Fleece Hoodie" })).toBeVisible();
    await expect(page.getByTestId("product-price")).toHaveText("€79.00");
  });

  test("an unknown page answers 404", async ({ page }) => {
    const response = await page.goto("/no-such-page");
    expect(response?.status()).toBe(404);
    await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  });
});

test.describe("with JavaScript", () => {
  test("adding to the cart updates the header count, and it survives a reload", async ({ page }) => {
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });

    await page.goto("/");
    await hydrated(page);
    const count = page.getByTestId("cart-count");
    await expect(count).toHaveText("0");

    const card = (name: string) => page.getByTestId("product-card").filter({ hasText: name });
    await card("Everyday Organic Tee").getByRole("button").click();
    await expect(count).toHaveText("1");
    await card("Stoneware Mug").getByRole("button").click();
    await card("Stoneware Mug").getByRole("button").click();
    await expect(count).toHaveText("3");

    await page.reload();
    await hydrated(page);
    await expect(count).toHaveText("3");

    await page.goto("/cart");
    await hydrated(page);
    await expect(page.getByTestId("cart-line")).toHaveCount(2);
    expect(errors, "no errors in the console (hydration mismatches show up here)").toEqual([]);
  });

  test("the cart page edits quantities and the count follows", async ({ page }) => {
    await page.goto("/products/stoneware-mug");
    await hydrated(page);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.goto("/cart");
    await hydrated(page);
    const count = page.getByTestId("cart-count");
    await expect(count).toHaveText("1");
    await page.getByRole("button", { name: "One more" }).click();
    await expect(page.getByTestId("line-quantity")).toHaveText("2");
    await expect(count).toHaveText("2");
    await page.getByRole("button", { name: "Remove" }).click();
    await expect(page.getByText("Your cart is empty")).toBeVisible();
    await expect(count).toHaveText("0");
  });

  test("a price answer for the cart as it was does not undo an edit made offline meanwhile", async ({ page, context }) => {
    await page.goto("/products/stoneware-mug");
    await hydrated(page);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect(page.getByTestId("cart-count")).toHaveText("1");
    // The cart page asks for its prices as it opens; those answers are held back until the
    // shopper has gone offline and added one more.
    let asked!: () => void;
    const quoteAsked = new Promise<void>((resolve) => (asked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const answers: Promise<void>[] = [];
    await page.route("**/api/cart/quote", (route) => {
      answers.push(
        (async () => {
          const response = await route.fetch();
          asked();
          await released;
          await route.fulfill({ response });
        })(),
      );
    });
    await page.goto("/cart");
    await hydrated(page);
    await quoteAsked;
    await page.waitForTimeout(300);
    await context.setOffline(true);
    await expect(page.getByTestId("offline-notice")).toBeVisible();
    await page.getByRole("button", { name: "One more" }).click();
    await expect(page.getByTestId("line-quantity")).toHaveText("2");
    release();
    await Promise.all(answers);
    await page.waitForTimeout(300);
    await expect(page.getByTestId("line-quantity")).toHaveText("2");
    await expect(page.getByTestId("cart-count")).toHaveText("2");
    // Back online the cart asks again; that answer is not held, and one still on its way
    // when the test ends is dropped rather than failing it.
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await context.setOffline(false);
  });

  test("two tabs stay in step", async ({ context }) => {
    const first = await context.newPage();
    const second = await context.newPage();
    await first.goto("/");
    await second.goto("/cart");
    await hydrated(first);
    await hydrated(second);
    await first.getByRole("button", { name: "Add to cart" }).first().click();
    await expect(second.getByTestId("cart-count")).toHaveText("1");
    await expect(second.getByTestId("cart-line")).toHaveCount(1);
  });

  test("choosing a variant changes the URL, price and picture without a reload", async ({ page }) => {
    // The server writes the buy box's HTML without Leptos (catalog/buy_box.rs): a difference
    // from what the island hydrates would show up here as an error.
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto("/products/mountain-dawn-print");
    // A marker that a reload would wipe out.
    await page.evaluate(() => ((window as any).sameDocument = true));
    await hydrated(page);
    await expect(page.getByTestId("product-price")).toHaveText("€35.00");
    await page.locator("label.option-value", { hasText: "Sky" }).click();
    await page.locator("label.option-value", { hasText: "A2" }).click();
    await expect(page).toHaveURL(/variant=\d+$/);
    await expect(page.getByTestId("product-price")).toHaveText("€52.50");
    await expect(page.getByRole("radio", { name: "Sky" })).toBeChecked();
    await expect(page.getByRole("radio", { name: "A2" })).toBeChecked();
    // The gallery turns to the sky print's picture (the second).
    await expect(page.getByRole("link", { name: "Picture 2 of 2", exact: true })).toHaveAttribute("aria-current", "true");
    expect(await page.evaluate(() => (window as any).sameDocument)).toBe(true);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await expect(page.getByTestId("cart-count")).toHaveText("1");
    await page.goto("/cart");
    await expect(page.getByTestId("cart-line")).toContainText("Sky / A2");
    expect(errors, "no errors in the console (hydration mismatches show up here)").toEqual([]);
  });
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 412, height: 915 } });

  test("the collections fold into a menu that opens, with search and cart kept in the header", async ({ page }) => {
    await page.goto("/");
    await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
    const header = page.locator(".site-header");
    const apparel = header.getByRole("link", { name: "Apparel" });
    await expect(apparel).toBeHidden();
    await expect(header.getByRole("searchbox", { name: "Search products" })).toBeVisible();
    await expect(header.getByTestId("cart-count")).toBeVisible();
    // The header stays on one line.
    const height = (await header.boundingBox())!.height;
    expect(height).toBeLessThan(80);

    await header.getByText("Menu").click();
    await expect(apparel).toBeVisible();
    await apparel.click();
    await expect(page).toHaveURL(/\/collections\/apparel$/);
    await expect(page.getByRole("heading", { level: 1, name: "Apparel" })).toBeVisible();
  });
});

test.describe("on a desktop", () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test("the collections sit in the header and there is no menu", async ({ page }) => {
    await page.goto("/");
    await expect(page.locator(".site-header").getByRole("link", { name: "Apparel" })).toBeVisible();
    await expect(page.locator(".site-header").getByText("Menu")).toBeHidden();
  });
});
