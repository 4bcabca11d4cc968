import { test, expect } from "@playwright/test";
import { signIn, violations } from "./support";

// Two small pictures, red and blue, made here so the test needs no files.
const RED = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4YWODFTEMLQkAZZlQAVIPr1MAAAAASUVORK5CYII=";
const BLUE = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGOwsTmBFTEMLQkAH5lQAcFnB7UAAAAASUVORK5CYII=";

// A draft product of its own, so nothing the shop's tests look at changes.
test("the product editor: variants generated, edited in the grid, removed and restored; pictures dragged into order", async ({ page }) => {
  page.on("dialog", (dialog) => dialog.accept());
  await signIn(page);
  await page.goto("/admin/products/new");
  await page.getByLabel("Title", { exact: true }).fill("E2E Grid Tee");
  await page.getByLabel("Handle (address)").fill("e2e-grid-tee");
  await page.getByRole("button", { name: "Create product" }).click();
  await expect(page).toHaveURL(/\/admin\/products\/\d+/);

  await page.getByText("Generate variants from options").click();
  await page.getByLabel("Options, one per line").fill("Size: S, M\nColour: Navy, Forest");
  await page.getByLabel("Price of the new variants").fill("25");
  await page.getByLabel("SKU prefix").fill("E2E");
  await page.getByRole("button", { name: "Generate missing variants" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("4 variants added.");
  const rows = page.getByTestId("variant-row");
  await expect(rows).toHaveCount(4);
  expect(await violations(page)).toEqual([]);

  // One row edited in place, every stock set at once, one save.
  await page.getByLabel("Price of E2E-M-NAVY", { exact: true }).fill("29.50");
  await page.getByLabel("Stock on hand").fill("5");
  await page.getByRole("button", { name: "Save variants" }).click();
  await expect(page.getByTestId("admin-notice")).toContainText("every variant now has 5 on hand");
  await expect(page.getByLabel("Price of E2E-M-NAVY", { exact: true })).toHaveValue("29.50");
  await expect(rows.first()).toContainText("5 on hand");

  // With stock history a variant is archived, not deleted, and comes back.
  await page.getByRole("button", { name: "Remove E2E-S-FOREST" }).click();
  await expect(page.getByTestId("admin-notice")).toContainText("E2E-S-FOREST was archived");
  await expect(rows).toHaveCount(3);
  await page.getByRole("button", { name: "Restore E2E-S-FOREST" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("E2E-S-FOREST is back in the shop.");
  await expect(rows).toHaveCount(4);

  // Two pictures, then the second dragged before the first.
  for (const [name, data] of [["red", RED], ["blue", BLUE]]) {
    await page.getByLabel("Picture", { exact: true }).setInputFiles({ name: `${name}.png`, mimeType: "image/png", buffer: Buffer.from(data, "base64") });
    await page.getByLabel("Description (alt text)").fill(name);
    await page.getByRole("button", { name: "Upload" }).click();
    await expect(page.getByTestId("admin-notice")).toHaveText("Picture added.");
  }
  const pictures = page.getByTestId("picture");
  await expect(pictures.nth(0).locator("img")).toHaveAttribute("alt", "red");
  await pictures.nth(1).dragTo(pictures.nth(0));
  await expect(page.getByTestId("admin-notice")).toHaveText("Pictures reordered.");
  await expect(pictures.nth(0).locator("img")).toHaveAttribute("alt", "blue");
  await expect(pictures.nth(1).locator("img")).toHaveAttribute("alt", "red");
  // And one deleted.
  await page.getByRole("button", { name: "Delete picture 2" }).click();
  await expect(page.getByTestId("admin-notice")).toHaveText("Picture deleted.");
  await expect(pictures).toHaveCount(1);
});
