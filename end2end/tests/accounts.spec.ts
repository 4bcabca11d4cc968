import { test, expect, type APIRequestContext } from "@playwright/test";
import { readFile } from "node:fs/promises";
import { hydrated, mailbox, signIn, signInAsShopper, violations } from "./support";

/** A paid guest order for `email` through the public API; its number. */
async function guestOrder(request: APIRequestContext, email: string): Promise<string> {
  const product = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const variant = product.variants.find((v: { available: number }) => v.available > 0);
  const response = await request.post("/api/v1/checkout", {
    headers: { "Idempotency-Key": `guest-${email}-${Date.now()}` },
    data: {
      email,
      shipping_address: { name: "Ada Lovelace", line1: "Heidestraße 17", city: "Köln", postal_code: "51147", country: "DE" },
      lines: [{ variant_id: variant.id, quantity: 1 }],
      payment: { gateway: "test", token: "pm_card_visa" },
    },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).order.number;
}

test("a code from the email signs a shopper in, and their guest order joins the account", async ({ page, request }) => {
  const email = `ada.${Date.now()}@example.test`;
  const number = await guestOrder(request, email);
  await page.goto("/");
  await expect(page.locator(".site-header > .account-link")).toHaveText("Sign in");

  await signInAsShopper(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("account-orders")).toContainText(`Order #${number}`);
  await expect(page.locator(".site-header > .account-link")).toHaveText("Account");
  // The email came over SMTP with the code in its subject and its body.
  const [mail] = await mailbox(email).then((all) => all.filter((m) => /sign-in code/.test(m.subject)));
  expect(mail.body).toContain(mail.subject.slice(0, 6));

  // Signing out ends the session here and empties this browser's cart.
  const product = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const variant = product.variants.find((v: { available: number }) => v.available > 0);
  await page.goto(`/products/stoneware-mug?variant=${variant.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await page.goto("/account");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.locator(".site-header > .account-link")).toHaveText("Sign in");
  await hydrated(page);
  await expect(page.getByTestId("cart-count")).toHaveText("0");
  await page.goto("/account");
  await expect(page).toHaveURL(/\/account\/sign-in\?next=/);
});

test("a wrong code says how many tries are left", async ({ page }) => {
  const email = `bob.${Date.now()}@example.test`;
  await page.goto("/account/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a code" }).click();
  await page.getByLabel("Code").fill("000000");
  await page.getByRole("button", { name: "Sign in" }).click();
  // One in a million: the real code was 000000.
  if (!page.url().endsWith("/account")) {
    await expect(page.getByTestId("account-error")).toContainText("4 tries left");
    await expect(page.getByLabel("Code")).toBeVisible();
  }
});

test("checkout fills in the signed-in shopper's address, and the order joins the account", async ({ page, request }) => {
  const email = `cleo.${Date.now()}@example.test`;
  await signInAsShopper(page, email);
  await expect(page).toHaveURL(/\/account$/);

  // Two addresses; the second becomes the default.
  await page.getByText("Add an address").click();
  const add = page.getByTestId("add-address");
  await add.getByLabel("Full name").fill("Cleo Home");
  await add.getByLabel("Address", { exact: true }).fill("Heidestraße 17");
  await add.getByLabel("Postal code").fill("51147");
  await add.getByLabel("City").fill("Köln");
  await add.getByRole("button", { name: "Save address" }).click();
  await expect(page.getByTestId("account-notice")).toHaveText("Address saved.");
  await page.getByText("Add an address").click();
  await add.getByLabel("Full name").fill("Cleo Office");
  await add.getByLabel("Address", { exact: true }).fill("Karl-Marx-Allee 1");
  await add.getByLabel("Postal code").fill("10178");
  await add.getByLabel("City").fill("Berlin");
  await add.getByLabel("Default shipping address").check();
  await add.getByRole("button", { name: "Save address" }).click();
  await expect(page.getByTestId("address-book").locator("li").first()).toContainText("Cleo Office");
  await expect(page.getByTestId("address-book").locator("li").first()).toContainText("Default shipping address");

  const product = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const variant = product.variants.find((v: { available: number }) => v.available > 0);
  await page.goto(`/products/stoneware-mug?variant=${variant.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");

  await page.goto("/checkout");
  await hydrated(page);
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.getByLabel("Full name")).toHaveValue("Cleo Office");
  await expect(page.getByLabel("City")).toHaveValue("Berlin");
  await expect(page.getByTestId("checkout-account")).toContainText(email);
  // The address book: choosing the other address fills it in.
  await page.getByTestId("saved-address").selectOption({ label: "Cleo Home, Heidestraße 17, Köln" });
  await expect(page.getByLabel("Full name")).toHaveValue("Cleo Home");
  await expect(page.getByLabel("Postal code")).toHaveValue("51147");
  await page.getByLabel("Card number").fill("4242 4242 4242 4242");
  await expect(page.getByTestId("order-total")).toContainText("€");
  await page.getByTestId("place-order").click();
  await expect(page.getByTestId("order-status")).toHaveText("Paid");
  const number = (await page.url()).split("/").pop();
  expect(number).toBeTruthy();

  await page.goto("/account");
  await expect(page.getByTestId("account-orders").locator("li")).toHaveCount(1);
});

test("the sign-in and account pages have no accessibility violations", async ({ page }) => {
  await page.goto("/account/sign-in");
  expect(await violations(page)).toEqual([]);
  await signInAsShopper(page, `dora.${Date.now()}@example.test`);
  await expect(page).toHaveURL(/\/account$/);
  await page.getByText("Add an address").click();
  expect(await violations(page)).toEqual([]);
  await page.setViewportSize({ width: 412, height: 900 });
  expect(await violations(page)).toEqual([]);
});

test("a shopper downloads their data and deletes their account; the email starts afresh", async ({ page, request }) => {
  const email = `eve.${Date.now()}@example.test`;
  const number = await guestOrder(request, email);
  await signInAsShopper(page, email);
  await expect(page.getByTestId("account-orders")).toContainText(`Order #${number}`);

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-data").click()]);
  const data = JSON.parse(await readFile((await download.path())!, "utf8"));
  expect(data.email).toBe(email);
  expect(data.data.orders[0].address.name).toBe("Ada Lovelace");
  expect(data.data.orders[0].lines).toHaveLength(1);

  await page.getByText("Delete my account").first().click();
  const form = page.getByTestId("delete-account");
  await form.getByLabel("I understand this cannot be undone").check();
  await form.getByRole("button", { name: "Delete my account" }).click();
  await expect(page).toHaveURL(/\/account\/sign-in/);
  await expect(page.getByTestId("account-notice")).toContainText("Your account was deleted");
  await expect(page.locator(".site-header > .account-link")).toHaveText("Sign in");

  // The same email again: a new account with nothing of the old one.
  await signInAsShopper(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByText("No orders yet")).toBeVisible();
});

test("staff export a person's data by email from the back office", async ({ page, request }) => {
  const email = `fay.${Date.now()}@example.test`;
  await guestOrder(request, email);
  await signIn(page);
  await page.goto("/admin/privacy");
  const exportForm = page.getByTestId("privacy-export");
  await exportForm.getByLabel("Email").fill(email);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    exportForm.getByRole("button", { name: "Download their data (JSON)" }).click(),
  ]);
  const data = JSON.parse(await readFile((await download.path())!, "utf8"));
  expect(data.data.orders).toHaveLength(1);
  expect(data.data.customers).toHaveLength(0);
});

test("a cart started on one device appears, merged, on another", async ({ browser, request }) => {
  const email = `cart.${Date.now()}@example.test`;
  const list = await (await request.get("/api/v1/products?limit=20")).json();
  const buyable = list.items.filter((p: { slug: string }) => p.slug !== "stoneware-mug");
  const other = await (await request.get(`/api/v1/products/${buyable[0].slug}`)).json();
  const otherVariant = other.variants.find((v: { available: number }) => v.available > 2);
  const mug = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const mugVariant = mug.variants.find((v: { available: number }) => v.available > 2);
  const add = async (page: import("@playwright/test").Page, slug: string, variant: number, times: number) => {
    await page.goto(`/products/${slug}?variant=${variant}`);
    await hydrated(page);
    for (let i = 1; i < times; i++) {
      await page.getByRole("button", { name: "One more" }).click();
    }
    await page.getByRole("button", { name: "Add to cart" }).click();
  };

  // The laptop, signed in, puts two mugs in the cart.
  const laptop = await (await browser.newContext()).newPage();
  await signInAsShopper(laptop, email);
  await expect(laptop).toHaveURL(/\/account$/);
  await add(laptop, "stoneware-mug", mugVariant.id, 2);
  await expect(laptop.getByTestId("cart-count")).toHaveText("2");

  // The phone, still a guest, has one mug and something else; then signs in.
  const phone = await (await browser.newContext()).newPage();
  await add(phone, "stoneware-mug", mugVariant.id, 1);
  await add(phone, other.slug, otherVariant.id, 1);
  await expect(phone.getByTestId("cart-count")).toHaveText("2");
  await signInAsShopper(phone, email, "/cart");
  await expect(phone).toHaveURL(/\/cart$/);
  // The larger quantity of the mug (not the sum), the other line kept, the change named.
  await expect(phone.getByTestId("cart-count")).toHaveText("3");
  await expect(phone.getByTestId("cart-line")).toHaveCount(2);
  const notices = phone.getByTestId("cart-merge-notices");
  await expect(notices).toContainText("as in your account's cart (this device had 1)");
  expect(await violations(phone)).toEqual([]);
  await notices.getByRole("button", { name: "OK" }).click();
  await expect(notices).toHaveCount(0);

  // An edit on the phone reaches the laptop.
  const otherLine = phone.getByTestId("cart-line").filter({ hasText: other.title });
  await otherLine.getByRole("button", { name: "Remove" }).click();
  await expect(phone.getByTestId("cart-count")).toHaveText("2");
  await expect
    .poll(async () => {
      await laptop.goto("/cart");
      await hydrated(laptop);
      return laptop.getByTestId("cart-line").count();
    })
    .toBe(1);
  await expect(laptop.getByTestId("line-quantity")).toHaveText("2");
  await expect(laptop.getByTestId("cart-count")).toHaveText("2");
});

test("edits made offline while signed in reach the account when the connection returns", async ({ page, context, request }) => {
  const email = `offline.${Date.now()}@example.test`;
  await signInAsShopper(page, email);
  await expect(page).toHaveURL(/\/account$/);
  const mug = await (await request.get("/api/v1/products/stoneware-mug")).json();
  const variant = mug.variants.find((v: { available: number }) => v.available > 2);
  await page.goto(`/products/stoneware-mug?variant=${variant.id}`);
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await page.goto("/cart");
  await hydrated(page);
  await expect(page.getByTestId("line-quantity")).toHaveText("1");

  let syncs = 0;
  page.on("request", (r) => {
    if (r.url().includes("/api/cart/sync")) syncs++;
  });
  await context.setOffline(true);
  await page.getByRole("button", { name: "One more" }).click();
  await expect(page.getByTestId("line-quantity")).toHaveText("2");
  await page.waitForTimeout(1_000);
  // One try, then it waits for the connection: no retry loop while offline.
  expect(syncs).toBeLessThanOrEqual(2);

  await context.setOffline(false);
  await expect
    .poll(async () => {
      const cart = await (await page.request.get("/api/v1/customer/cart")).json();
      return cart.lines.map((l: { quantity: number }) => l.quantity);
    })
    .toEqual([2]);
});
