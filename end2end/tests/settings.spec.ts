import { test, expect } from "@playwright/test";
import { hydrated, signIn, violations } from "./support";

// Japan ships with the rest of the world and pays no tax in the demo; no other test sends a
// parcel there, so this one may give it a zone and a tax rate, and takes them away again.
test("a zone, a rate and a tax rate set in the settings are what checkout charges", async ({ page, request }) => {
  await signIn(page);
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Settings" })).toBeVisible();
  expect(await violations(page)).toEqual([]);

  const newZone = page.getByTestId("new-zone");
  await newZone.getByLabel("New zone").fill("Japan");
  await newZone.getByLabel("Countries").fill("jp");
  await newZone.getByRole("button", { name: "Add zone" }).click();
  await expect(page.getByTestId("admin-notice")).toContainText("Shipping zone added");
  const zone = page.getByRole("group", { name: "Japan" });
  await zone.getByLabel("New rate").fill("Japan Post");
  await zone.getByLabel("Price", { exact: true }).fill("14");
  await zone.getByLabel("Days", { exact: true }).fill("6");
  await zone.getByLabel("to", { exact: true }).fill("9");
  await zone.getByRole("button", { name: "Add rate" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Shipping rate added.");

  const newTax = page.getByTestId("new-tax");
  await newTax.getByLabel("Country").fill("JP");
  await newTax.getByLabel("Name").fill("Consumption tax");
  await newTax.getByLabel("Rate (%)").fill("10");
  await newTax.getByRole("button", { name: "Add tax rate" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Tax rate added.");

  // A shopper checking out to Japan gets the new rate and the new tax at once.
  const product = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const variant = product.variants.find((v: { available: number }) => v.available > 0);
  await page.goto(`/products/stoneware-mug?variant=${variant.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).not.toHaveText("0");
  await page.goto("/checkout");
  await hydrated(page);
  await page.getByLabel("Country").selectOption("JP");
  await expect(page.getByText(/Japan Post — €14\.00 \(6–9 days\)/)).toBeVisible();
  await expect(page.getByTestId("order-summary")).toContainText("incl. 10 % Consumption tax");

  // Taken away again (each delete asks first).
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/admin/settings");
  await page.getByRole("button", { name: "Delete zone Japan" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Shipping zone deleted.");
  await page.getByRole("button", { name: "Delete for JP" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Tax rate deleted.");
  await expect(page.getByRole("group", { name: "Japan" })).toHaveCount(0);
});
