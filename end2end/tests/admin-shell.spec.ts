import { test, expect, type Page } from "@playwright/test";
import { signIn, violations } from "./support";

test("the back office has its own frame: sections, one search, who is signed in", async ({ page, request }) => {
  await signIn(page);
  await expect(page.locator(".site-header")).toHaveCount(0);
  await expect(page.locator(".site-footer")).toHaveCount(0);
  await expect(page.getByTestId("admin-staff")).toHaveText("owner@e2e.test");
  const sections = page.getByRole("navigation", { name: "Admin" });
  await expect(sections.getByRole("link", { name: "Dashboard" })).toHaveAttribute("aria-current", "page");

  await sections.getByRole("link", { name: "Orders" }).click();
  await expect(page).toHaveURL(/\/admin\/orders$/);
  await expect(sections.getByRole("link", { name: "Orders" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByRole("heading", { level: 1, name: "Orders" })).toBeVisible();

  // A SKU typed into the top bar finds its product; the product's editor is under Products.
  const mug = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const search = page.getByRole("searchbox", { name: "Search orders and products" });
  await search.fill(mug.variants[0].sku);
  await search.press("Enter");
  await expect(page).toHaveURL(/\/admin\/search\?q=/);
  await expect(search).toHaveValue(mug.variants[0].sku);
  const products = page.getByTestId("found-products");
  await products.getByRole("link", { name: "Stoneware Mug" }).click();
  await expect(page).toHaveURL(/\/admin\/products\/\d+$/);
  await expect(sections.getByRole("link", { name: "Products" })).toHaveAttribute("aria-current", "page");

  // The way back to the shop, whose own frame is back.
  await page.getByRole("link", { name: "View the shop" }).click();
  await expect(page.locator(".site-header")).toBeVisible();
});

test("stock is adjusted from the inventory table, which stays where it was", async ({ page, request }) => {
  await signIn(page);
  const mug = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const sku: string = mug.variants[0].sku;
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Inventory" }).click();
  await page.getByRole("searchbox", { name: "Search", exact: true }).fill(sku);
  await page.getByRole("button", { name: "Filter" }).click();
  const row = page.getByTestId("inventory-row");
  await expect(row).toHaveCount(1);
  const onHand = Number(await row.locator("td").nth(2).textContent());
  await row.getByLabel(`Reason for ${sku}`).selectOption("received");
  await row.getByLabel(`Quantity for ${sku}`).fill("3");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Stock updated.");
  await expect(page).toHaveURL(new RegExp(`/admin/inventory\\?q=`));
  await expect(row.locator("td").nth(2)).toHaveText(String(onHand + 3));
});

test("products are ticked and changed in bulk; the table keeps its search", async ({ page }) => {
  await signIn(page);
  await page.goto("/admin/products?q=candle");
  const rows = page.getByTestId("product-row");
  const shown = await rows.count();
  expect(shown).toBeGreaterThan(1);
  const every = page.getByRole("checkbox", { name: "Tick every product on this page" });
  const ticked = page.locator("[data-bulk-count]");
  await every.check();
  await expect(ticked).toHaveText(`${shown} ticked`);
  await every.uncheck();
  await expect(ticked).toHaveText("");

  const fig = rows.filter({ hasText: "Fig Leaf Candle" });
  await page.getByRole("checkbox", { name: "Tick Fig Leaf Candle" }).check();
  await expect(every).toHaveJSProperty("indeterminate", true);
  await expect(ticked).toHaveText("1 ticked");
  await page.getByLabel("Action").selectOption("draft");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("1 product set to draft.");
  await expect(page).toHaveURL(/\/admin\/products\?q=candle&notice=/);
  await expect(fig.locator(".status")).toHaveText("draft");

  await page.getByRole("checkbox", { name: "Tick Fig Leaf Candle" }).check();
  await page.getByLabel("Action").selectOption("publish");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("1 product published.");
  await expect(fig.locator(".status")).toHaveText("active");
});

test("the keyboard: / searches, g o and g p go to orders and products, ? lists the keys", async ({ page }) => {
  await signIn(page);
  await page.waitForLoadState("load");
  await page.keyboard.press("/");
  await expect(page.getByRole("searchbox", { name: "Search orders and products" })).toBeFocused();
  await page.keyboard.press("Escape");
  await page.keyboard.press("g");
  await page.keyboard.press("o");
  await expect(page).toHaveURL(/\/admin\/orders$/);
  await page.waitForLoadState("load");
  await page.keyboard.press("g");
  await page.keyboard.press("p");
  await expect(page).toHaveURL(/\/admin\/products$/);
  await page.waitForLoadState("load");
  const keys = page.locator("#shortcuts");
  await expect(keys).not.toHaveAttribute("open");
  await page.keyboard.press("?");
  await expect(keys).toHaveAttribute("open", "");
  await expect(keys.getByText("Show or hide this list")).toBeVisible();
  // Typing in a field is typing, not a shortcut.
  await page.getByRole("searchbox", { name: "Search", exact: true }).fill("g");
  await page.keyboard.press("o");
  await expect(page).toHaveURL(/\/admin\/products$/);
});

test.describe("on a tablet", () => {
  test.use({ viewport: { width: 820, height: 1180 } });

  test("the sections run along the top, above the page", async ({ page }) => {
    await signIn(page);
    const sections = page.getByRole("navigation", { name: "Admin" });
    await expect(sections.getByRole("link", { name: "Staff" })).toBeVisible();
    // Measured in one go inside the page: the dashboard is live, and an order placed by another
    // test swaps its section (and heading) for a fresh one, which a second round trip could miss.
    const { sidebar, heading } = await page.evaluate(() => ({
      sidebar: document.querySelector(".admin-sidebar")!.getBoundingClientRect().toJSON(),
      heading: document.querySelector("main h1")!.getBoundingClientRect().toJSON(),
    }));
    expect(sidebar.y + sidebar.height).toBeLessThanOrEqual(heading.y);
    expect(sidebar.height).toBeLessThan(200);
  });
});

const adminPages: [string, string][] = [
  ["dashboard", "/admin"],
  ["orders", "/admin/orders"],
  ["products", "/admin/products"],
  ["new product", "/admin/products/new"],
  ["collections", "/admin/collections"],
  ["inventory", "/admin/inventory"],
  ["import", "/admin/import"],
  ["staff", "/admin/staff"],
  ["search", "/admin/search?q=mug"],
  ["settings", "/admin/settings"],
  ["privacy", "/admin/privacy"],
  ["filtered products", "/admin/products?stock=low&sort=updated"],
];

for (const [width, height, device] of [
  [1280, 800, "desktop"],
  [820, 1180, "tablet"],
] as const) {
  test.describe(`admin accessibility on a ${device}`, () => {
    test.use({ viewport: { width, height } });

    test("sign-in", async ({ page }) => {
      await page.goto("/admin/sign-in");
      expect(await violations(page)).toEqual([]);
    });

    test("every section, signed in", async ({ page }) => {
      // About two seconds of axe per page, a dozen pages: more than the default 30 s when
      // the other worker is busy too.
      test.setTimeout(90_000);
      await signIn(page);
      for (const [name, path] of adminPages) {
        await page.goto(path);
        expect(await violations(page), name).toEqual([]);
      }
      // A product's editor and an order's page, reached from their lists.
      await page.goto("/admin/products");
      await page.getByTestId("product-table").getByRole("link").first().click();
      await expect(page).toHaveURL(/\/admin\/products\/\d+$/);
      expect(await violations(page), "product editor").toEqual([]);
    });
  });
}
