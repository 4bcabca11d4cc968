import { test, expect, type Page } from "@playwright/test";
import { createHmac } from "node:crypto";
import { signIn, violations } from "./support";

/** RFC 4648 base32, as authenticator apps read secrets. */
function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The code an authenticator app shows at `at` (RFC 6238: SHA-1, 30 s, 6 digits). */
function totp(secret: string, at = Date.now()): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

async function signInAs(page: Page, email: string, password: string) {
  await page.goto("/admin/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("a staff member turns on two-factor with an app, then signs in with a code", async ({ page }) => {
  const email = `sec.${Date.now()}@e2e.test`;
  const password = "a long enough staff password";
  await signIn(page);
  await page.goto("/admin/staff");
  await page.locator("#staff-email").fill(email);
  await page.locator("#staff-password").fill(password);
  await page.getByRole("button", { name: "Add staff account" }).click();
  await page.getByRole("button", { name: "Sign out" }).click();

  await signInAs(page, email, password);
  await expect(page).toHaveURL(/\/admin$/);
  await page.getByTestId("admin-staff").getByRole("link").click();
  await expect(page).toHaveURL(/\/admin\/security$/);
  await page.getByRole("button", { name: "Set up two-factor authentication" }).click();
  await expect(page.locator(".qr svg")).toBeVisible();
  expect(await violations(page)).toEqual([]);
  const secret = (await page.getByTestId("2fa-secret").textContent())!.trim();
  await page.getByLabel("Enter the six digits the app shows").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);
  // The page shown once is styled like the rest (the release stylesheet's hashed name).
  const stylesheet = await page.locator('link[rel="stylesheet"]').getAttribute("href");
  const css = await page.request.get(stylesheet!);
  expect(css.status()).toBe(200);
  expect(css.headers()["content-type"]).toContain("text/css");
  await page.getByRole("link", { name: "Done" }).click();
  await expect(page.getByTestId("2fa-state")).toContainText("on");

  await page.getByRole("button", { name: "Sign out" }).click();
  await signInAs(page, email, password);
  await expect(page).toHaveURL(/\/admin\/sign-in\?step=code/);
  await expect(page.getByRole("heading", { name: "Two-factor authentication" })).toBeVisible();
  // The code of the next half-minute: the current one was used to turn it on.
  await page.getByLabel("Code from your authenticator app").fill(totp(secret, Date.now() + 30_000));
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/admin$/);
});
