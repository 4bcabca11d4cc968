import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { hydrated, signIn, violations } from "./support";

// A browser of its own kind (the other tests browse as Chrome from the same address), so its
// visit is told apart from theirs: a visitor is (the day, the address's /24, the browser family).
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

test("a visit from a campaign, an add to cart and an order show in the funnel and the sources; every report downloads as CSV; no cookie", async ({ browser }) => {
  const campaign = `e2e-${Date.now()}`;
  const context = await browser.newContext({ userAgent: FIREFOX });
  const shopper = await context.newPage();
  const cookies: string[] = [];
  shopper.on("response", (response) => {
    const cookie = response.headers()["set-cookie"];
    if (cookie) cookies.push(`${response.url()}: ${cookie}`);
  });

  // Lands from a newsletter link, looks at a product, adds it, orders.
  await shopper.goto(`/?utm_source=newsletter&utm_medium=email&utm_campaign=${campaign}`);
  await hydrated(shopper);
  await shopper.goto("/products/stoneware-mug");
  await hydrated(shopper);
  await shopper.getByRole("button", { name: "Add to cart" }).click();
  await expect(shopper.getByTestId("cart-count")).toHaveText("1");
  await shopper.goto("/checkout");
  await hydrated(shopper);
  await shopper.getByLabel("Email").fill(`analytics.${Date.now()}@example.test`);
  await shopper.getByLabel("Full name").fill("Ana Lytics");
  await shopper.getByLabel("Street and number").fill("Heidestraße 17");
  await shopper.getByLabel("Postal code").fill("51147");
  await shopper.getByLabel("City").fill("Köln");
  await shopper.getByLabel("Card number").fill("4242 4242 4242 4242");
  await expect(shopper.getByTestId("order-total")).toContainText("€");
  await shopper.getByTestId("place-order").click();
  await expect(shopper.getByTestId("order-status")).toHaveText("Paid");
  // Shopping set no cookie at all, and the cart kept where the shopper came from.
  expect(cookies).toEqual([]);
  const landing = await shopper.evaluate(() => localStorage.getItem("kassa.attribution.v1"));
  expect(landing).toContain(campaign);
  await context.close();

  // The owner's reports of today.
  const staff = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await signIn(staff);
  await staff.goto("/admin/analytics");
  const funnel = staff.getByTestId("analytics-funnel");
  for (const step of ["visit", "product_view", "add_to_cart", "checkout_started", "order"]) {
    const count = Number(await funnel.locator(`tr[data-step="${step}"] .funnel-count`).textContent());
    expect(count, step).toBeGreaterThanOrEqual(1);
  }
  const source = staff.getByTestId("analytics-sources").locator("tr").filter({ hasText: campaign });
  await expect(source).toHaveCount(1);
  // newsletter · email · campaign · 1 visitor · 1 order · its revenue
  await expect(source.locator("td").nth(3)).toHaveText("1");
  await expect(source.locator("td").nth(4)).toHaveText("1");
  await expect(source.locator("td").nth(5)).toContainText("€");
  await expect(staff.getByTestId("analytics-products")).toContainText("Stoneware Mug");
  expect(await violations(staff)).toEqual([]);

  // The funnel as a file.
  const [download] = await Promise.all([
    staff.waitForEvent("download"),
    staff.getByRole("link", { name: "Download the funnel (CSV)" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^funnel-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync((await download.path())!, "utf8");
  expect(csv.split("\n")[0]).toBe("step,visitors");
  expect(csv).toMatch(/^order,[1-9]\d*$/m);
});
