import { test, expect, type Page, type APIRequestContext } from "@playwright/test";
import { hydrated, signIn } from "./support";

async function inStock(request: APIRequestContext, slug: string): Promise<{ id: number; available: number }> {
  const product = await (await request.get(`/api/v1/products/${slug}`)).json();
  return product.variants.find((v: { available: number }) => v.available >= 2);
}

test("staff see a new order live, ship it in two parts, and the owner refunds part", async ({ browser, request }) => {
  const staff = await (await browser.newContext()).newPage();
  const errors: string[] = [];
  staff.on("pageerror", (e) => errors.push(e.message));
  staff.on("console", (m) => {
    if (m.type() === "error") errors.push(`${m.location().url}: ${m.text()}`);
  });
  await signIn(staff);
  // Live without the shop's WASM: admin pages load only /admin.js.
  await expect(staff.getByTestId("dashboard")).toHaveAttribute("data-live", "true");
  expect(await staff.locator("script[data-wasm]").count()).toBe(0);
  const rowsBefore = await staff.getByTestId("order-row").count();

  // A shopper places an order with two lines in their own browser.
  const shopper = await (await browser.newContext()).newPage();
  const tee = await inStock(request, "everyday-organic-tee");
  const mug = await inStock(request, "stoneware-mug");
  for (const [slug, variant] of [["everyday-organic-tee", tee], ["stoneware-mug", mug]] as const) {
    await shopper.goto(`/products/${slug}?variant=${variant.id}`);
    await hydrated(shopper);
    await shopper.getByRole("button", { name: "Add to cart" }).click();
  }
  await shopper.goto("/checkout");
  await hydrated(shopper);
  await shopper.getByLabel("Email").fill("erika@example.com");
  await shopper.getByLabel("Full name").fill("Erika Live");
  await shopper.getByLabel("Street and number").fill("Heidestraße 17");
  await shopper.getByLabel("Postal code").fill("51147");
  await shopper.getByLabel("City").fill("Köln");
  await shopper.getByLabel("Card number").fill("4242 4242 4242 4242");
  await expect(shopper.getByTestId("order-total")).toContainText("€");
  await shopper.getByTestId("place-order").click();
  await expect(shopper.getByTestId("order-status")).toHaveText("Paid");
  const number = (await shopper.getByTestId("order-number").textContent())!.replace("#", "").trim();
  const orderUrl = shopper.url();

  // The dashboard shows it without a reload.
  const row = staff.getByTestId("order-row").filter({ hasText: `#${number}` });
  await expect(row).toBeVisible();
  expect(await staff.getByTestId("order-row").count()).toBeGreaterThanOrEqual(Math.min(rowsBefore + 1, 8));
  await row.getByRole("link").click();
  await expect(staff.getByTestId("admin-order-status")).toHaveText("Paid");

  // Ship the first line, then the rest.
  const lines = staff.getByTestId("admin-line");
  await lines.nth(0).getByRole("spinbutton").fill("1");
  await staff.getByLabel("Carrier").fill("DHL");
  await staff.getByLabel("Tracking number").fill("TRACK-ONE");
  await staff.getByRole("button", { name: "Create shipment" }).click();
  await expect(staff.getByTestId("admin-notice")).toContainText("Shipment created");
  await expect(staff.getByTestId("admin-fulfilment")).toHaveText("partial");
  await staff.getByTestId("admin-line").nth(1).getByRole("spinbutton").fill("1");
  await staff.getByLabel("Carrier").fill("UPS");
  await staff.getByLabel("Tracking number").fill("TRACK-TWO");
  await staff.getByRole("button", { name: "Create shipment" }).click();
  await expect(staff.getByTestId("admin-fulfilment")).toHaveText("fulfilled");

  // The shopper's page lists both shipments.
  await shopper.goto(orderUrl);
  await expect(shopper.getByTestId("shipment")).toHaveCount(2);
  await expect(shopper.getByTestId("order-page")).toContainText("TRACK-ONE");
  await expect(shopper.getByTestId("order-page")).toContainText("TRACK-TWO");

  // The owner refunds 5.00, and the totals add up.
  await staff.getByLabel("Refund amount").fill("5.00");
  await staff.getByRole("button", { name: "Refund", exact: true }).click();
  await expect(staff.getByTestId("admin-notice")).toContainText("Refund made");
  await expect(staff.getByTestId("admin-refunded")).toHaveText("€5.00");
  await expect(staff.getByTestId("timeline")).toContainText("Refunded €5.00");
  expect(errors).toEqual([]);
});

test("a CSV imported from the browser reports how it went", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page);
  await page.goto("/admin/import");
  // Drafts, so the shop's pages (and the other tests) do not see them.
  const run = Date.now();
  const csv =
    "Handle,Title,Variant SKU,Variant Price,Status\n" +
    [1, 2, 3].map((i) => `e2e-import-${run}-${i},E2E Import ${i},E2E-${run}-${i},9.50,draft`).join("\n") +
    "\n";
  await page.getByLabel("CSV file").setInputFiles({ name: "products.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/import\/[^/]+$/);
  await expect(page.getByTestId("import-progress")).toContainText("Done: 3 products imported.");
  expect(errors).toEqual([]);
});
