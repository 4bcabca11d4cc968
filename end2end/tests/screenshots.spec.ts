import { test, expect, type Page } from "@playwright/test";
import { signIn } from "./support";

// The README's pictures of the shop and the back office, taken on every run of the suite into
// target/screenshots/ (scripts/screenshots.sh copies them to docs/screenshots/ for the README).
const dir = "../target/screenshots";

async function settled(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await page.evaluate(() => document.fonts.ready);
}

test.describe("on a desktop", () => {
  test.use({ viewport: { width: 1280, height: 800 } });

  test("the storefront", async ({ page }) => {
    await page.goto("/");
    await settled(page);
    await page.screenshot({ path: `${dir}/storefront-desktop.png` });
    await page.goto("/products/ridge-fleece-hoodie");
    await settled(page);
    await page.screenshot({ path: `${dir}/product-desktop.png` });
  });

  test("the back office", async ({ page }) => {
    await signIn(page);
    // No WASM there: the dashboard is ready once it listens for changes.
    await expect(page.getByTestId("dashboard")).toHaveAttribute("data-live", "true");
    await page.evaluate(() => document.fonts.ready);
    await page.screenshot({ path: `${dir}/admin-dashboard.png` });
    await page.goto("/admin/products?collection=apparel");
    await page.getByRole("checkbox", { name: "Tick every product on this page" }).check();
    await page.screenshot({ path: `${dir}/admin-products.png` });
  });
});

test.describe("on a phone", () => {
  test.use({ viewport: { width: 412, height: 915 } });

  test("the storefront", async ({ page }) => {
    await page.goto("/products/ridge-fleece-hoodie");
    await settled(page);
    await page.screenshot({ path: `${dir}/product-phone.png` });
    await page.goto("/collections/apparel");
    await settled(page);
    await page.screenshot({ path: `${dir}/collection-phone.png` });
  });
});
