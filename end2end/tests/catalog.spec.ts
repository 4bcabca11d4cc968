import { test, expect, type Page } from "@playwright/test";
import { hydrated } from "./support";

const titles = (page: Page) => page.locator(".product-title");

async function prices(page: Page): Promise<number[]> {
  const texts = await page.locator(".product-card .price .amount").allTextContents();
  return texts.map((t) => Math.round(Number(t.replace(/[^0-9.]/g, "")) * 100));
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("browse a collection, filter by price and size, sort by price", async ({ page }) => {
      await page.goto("/");
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Apparel" }).click();
      await expect(page).toHaveURL(/\/collections\/apparel$/);
      await expect(page.getByRole("heading", { level: 1, name: "Apparel" })).toBeVisible();
      if (javaScriptEnabled) await hydrated(page);

      await page.getByLabel("From", { exact: true }).fill("30");
      await page.getByLabel("To", { exact: true }).fill("80");
      await page.getByLabel("Size").selectOption("Size:XL");
      await page.getByLabel("Sort by").selectOption("price-asc");
      await page.getByRole("button", { name: "Apply" }).click();

      await expect(page).toHaveURL(/min=30.*max=80.*option=Size%3AXL.*sort=price-asc/);
      await expect(titles(page).first()).toBeVisible();
      const shown = await prices(page);
      expect(shown.length).toBeGreaterThan(2);
      // Card prices are those of a buyable variant, at least the product's lowest.
      for (const p of shown) expect(p).toBeGreaterThanOrEqual(3000);
      await expect(titles(page)).not.toContainText(["Everyday Organic Tee"]);
    });

    test("page through a collection", async ({ page }) => {
      await page.goto("/collections/home?sort=name");
      const first = await titles(page).allTextContents();
      expect(first).toHaveLength(24);
      expect([...first].sort((a, b) => a.localeCompare(b))).toEqual(first);
      await page.getByTestId("next-page").click();
      await expect(page).toHaveURL(/cursor=/);
      await expect(page.getByRole("link", { name: "← First page" })).toBeVisible();
      const second = await titles(page).allTextContents();
      expect(second.length).toBeGreaterThan(0);
      for (const title of second) expect(first).not.toContain(title);
    });

    test("search from the header", async ({ page }) => {
      await page.goto("/");
      if (javaScriptEnabled) await hydrated(page);
      await page.getByRole("searchbox", { name: "Search products" }).first().fill("merino");
      await page.getByRole("searchbox", { name: "Search products" }).first().press("Enter");
      await expect(page).toHaveURL(/\/search\?q=merino/);
      await expect(titles(page).first()).toBeVisible();
      const found = await titles(page).allTextContents();
      expect(found).toContain("Merino Rib Beanie");
      expect(found).toContain("Merino Hiking Socks");
      expect(found).not.toContain("Stoneware Mug");
    });

    test("open a product from a collection and read it", async ({ page }) => {
      await page.goto("/collections/home");
      await page.getByRole("link", { name: /Stoneware Mug/ }).click();
      await expect(page).toHaveURL(/\/products\/stoneware-mug$/);
      await expect(page.getByRole("heading", { level: 1, name: "Stoneware Mug" })).toBeVisible();
      await expect(page.getByTestId("product-price")).toHaveText("€18.00");
      await expect(page.locator(".description strong")).toHaveText("Care:");
    });
  });
}

test("without JavaScript the option pickers still work through their form", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/products/mountain-dawn-print");
  await expect(page.getByTestId("product-price")).toHaveText("€35.00");
  await page.locator("label.option-value", { hasText: "Sky" }).click();
  await page.locator("label.option-value", { hasText: "A2" }).click();
  await page.getByRole("button", { name: "Choose" }).click();
  await expect(page).toHaveURL(/option1=Sky&option2=A2/);
  await expect(page.getByTestId("product-price")).toHaveText("€52.50");
  await expect(page.getByRole("radio", { name: "A2" })).toBeChecked();
  await context.close();
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 412, height: 915 } });

  test("the filters fold into a drawer above the results that says how many are set", async ({ page }) => {
    await page.goto("/collections/apparel");
    const drawer = page.locator(".filter-drawer > summary");
    await expect(drawer).toHaveText(/^Filter and sort/);
    await expect(page.getByLabel("Sort by")).toBeHidden();
    // The results start within the first screen.
    const firstCard = (await page.getByTestId("product-card").first().boundingBox())!;
    expect(firstCard.y).toBeLessThan(915);

    await drawer.click();
    await page.getByLabel("Size").selectOption("Size:M");
    await page.getByLabel("In stock only").check();
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page).toHaveURL(/option=Size%3AM.*in_stock=1/);
    await expect(page.locator(".filter-drawer > summary")).toHaveText("Filter and sort (2)");
    await expect(page.getByLabel("Sort by")).toBeHidden();
  });
});

test.describe("on a desktop", () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test("the filters sit beside the results, open, without a drawer", async ({ page }) => {
    await page.goto("/collections/apparel");
    await expect(page.locator(".filter-drawer > summary")).toBeHidden();
    const sort = (await page.getByLabel("Sort by").boundingBox())!;
    const stock = (await page.getByLabel("In stock only").boundingBox())!;
    const card = (await page.getByTestId("product-card").first().boundingBox())!;
    expect(sort.x + sort.width).toBeLessThan(card.x);
    // "In stock only" has its own line above "Sort by".
    expect(stock.y + stock.height).toBeLessThan(sort.y);
  });
});
