import { test, expect } from "@playwright/test";
import { hydrated, signIn, violations } from "./support";

test("a shopper writes from the order page and returns a delivered item; staff see it live, approve, receive and refund it; stock and the order page follow", async ({ browser, request }) => {
  const slug = "stoneware-mug";
  const product = await (await request.get(`/api/v1/products/${slug}`)).json();
  const variant = product.variants.find((v: { available: number }) => v.available >= 2);

  // A shopper buys one, in a browser of their own.
  const shopper = await (await browser.newContext()).newPage();
  await shopper.goto(`/products/${slug}?variant=${variant.id}`);
  await hydrated(shopper);
  await shopper.getByRole("button", { name: "Add to cart" }).click();
  await shopper.goto("/checkout");
  await hydrated(shopper);
  const email = `returns.${Date.now()}@example.test`;
  await shopper.getByLabel("Email").fill(email);
  await shopper.getByLabel("Full name").fill("Rita Return");
  await shopper.getByLabel("Street and number").fill("Heidestraße 17");
  await shopper.getByLabel("Postal code").fill("51147");
  await shopper.getByLabel("City").fill("Köln");
  await shopper.getByLabel("Card number").fill("4242 4242 4242 4242");
  await expect(shopper.getByTestId("order-total")).toContainText("€");
  await shopper.getByTestId("place-order").click();
  await expect(shopper.getByTestId("order-status")).toHaveText("Paid");
  const number = (await shopper.getByTestId("order-number").textContent())!.replace("#", "").trim();
  const orderUrl = shopper.url();
  // Nothing delivered yet: no returns section.
  await expect(shopper.getByTestId("order-returns")).toHaveCount(0);

  // Staff ship it and mark it delivered.
  const staff = await (await browser.newContext()).newPage();
  await signIn(staff);
  await staff.goto(`/admin/orders/${number}`);
  await staff.getByTestId("admin-line").nth(0).getByRole("spinbutton").fill("1");
  await staff.getByLabel("Carrier").fill("DHL");
  await staff.getByLabel("Tracking number").fill("RET-1");
  await staff.getByRole("button", { name: "Create shipment" }).click();
  await expect(staff.getByTestId("admin-notice")).toContainText("Shipment created");
  await staff.getByRole("button", { name: "Mark delivered" }).click();
  await expect(staff.getByTestId("admin-notice")).toBeVisible();

  // Staff watch the inbox; the shopper writes from the order page, and it shows up live.
  await staff.goto("/admin/support?status=open");
  await expect(staff.locator("[data-live-section]")).toHaveAttribute("data-live", "true");
  await shopper.goto(orderUrl);
  await shopper.getByTestId("order-contact").click();
  await shopper.getByLabel("Your name").fill("Rita Return");
  await shopper.getByLabel("Email").fill(email);
  await shopper.getByLabel("Message").fill("Can I still send the mug back?");
  await shopper.getByRole("button", { name: "Send message" }).click();
  await expect(shopper.getByTestId("support-thread")).toContainText("send the mug back");
  const row = staff.getByTestId("support-row").filter({ hasText: email });
  await expect(row).toBeVisible({ timeout: 10_000 });
  await expect(row).toContainText(`#${number}`);

  // The shopper asks to return it from the order page.
  await shopper.goto(orderUrl);
  const section = shopper.getByTestId("order-returns");
  await expect(section).toBeVisible();
  expect(await violations(shopper)).toEqual([]);
  await section.getByLabel(/How many to return of/).selectOption("1");
  await section.getByLabel(/Why are you returning/).selectOption("damaged");
  await section.getByLabel("Anything else we should know? (optional)").fill("The handle came off.");
  await section.getByRole("button", { name: "Request a return" }).click();
  await expect(shopper.getByTestId("return-sent")).toContainText(`R${number}-1`);
  await expect(shopper.getByTestId("return-status")).toHaveText("Requested");

  // Staff approve, receive (back on the shelf) and refund.
  await staff.goto("/admin/returns?status=requested");
  await staff.getByRole("link", { name: `R${number}-1` }).click();
  expect(await violations(staff)).toEqual([]);
  await staff.getByLabel("Instructions for sending the items back").fill("Send it to Kassa, Lagerstraße 1.");
  await staff.getByRole("button", { name: "Approve" }).click();
  await expect(staff.getByTestId("admin-notice")).toContainText("Approved");
  await staff.getByRole("button", { name: "Mark received" }).click();
  await expect(staff.getByTestId("admin-notice")).toContainText("Received");
  // Back on the shelf through the stock ledger, with the RMA as its note.
  await staff.goto(`/admin/variants/${variant.id}`);
  const entry = staff.locator("tr").filter({ hasText: `R${number}-1` });
  await expect(entry).toContainText("return");
  await expect(entry).toContainText("+1");
  await staff.goto(`/admin/returns/R${number}-1`);
  await staff.getByRole("button", { name: "Refund" }).click();
  await expect(staff.getByTestId("admin-notice")).toContainText("Refunded €");
  await expect(staff.getByTestId("return-refunded")).toContainText("€");

  // The shopper's page shows the refund.
  await shopper.goto(orderUrl);
  await expect(shopper.getByTestId("return-status")).toHaveText("Refunded");
  await expect(shopper.getByTestId("return-refund")).toContainText("Refunded €");
});
