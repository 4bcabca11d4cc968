import { test, expect } from "@playwright/test";
import { signInAsShopper, violations } from "./support";

// Passkeys are bound to a host name, so this test visits the shop as `localhost` (the shop's
// public address in the suite), with Chromium's virtual authenticator standing in for a
// phone's or laptop's.
const shop = `http://localhost:${Number(process.env.KASSA_E2E_PORT ?? 3107)}`;

test("a passkey added on the account signs the shopper in without a code", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: shop });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  const email = `passkey.${Date.now()}@example.test`;
  await signInAsShopper(page, email);
  await expect(page).toHaveURL(/\/account$/);
  await page.getByLabel("Name for the new passkey").fill("Test laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByTestId("account-notice")).toHaveText("Passkey added.");
  const passkey = page.getByTestId("passkey");
  await expect(passkey).toHaveCount(1);
  await expect(passkey.getByLabel("Name")).toHaveValue("Test laptop");
  await expect(passkey).toContainText("not used yet");
  expect(await violations(page)).toEqual([]);

  // Signed out, the passkey signs the shopper in: no email typed, no code.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/account/sign-in?next=/account");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(passkey).toContainText("last used");

  // Renamed and removed with the page's own forms; then it no longer signs in.
  await passkey.getByLabel("Name").fill("Old laptop");
  await passkey.getByRole("button", { name: "Rename" }).click();
  await expect(page.getByTestId("account-notice")).toHaveText("Passkey renamed.");
  await expect(passkey.getByLabel("Name")).toHaveValue("Old laptop");
  await passkey.getByRole("button", { name: "Remove" }).click();
  await expect(page.getByTestId("account-notice")).toHaveText("Passkey removed.");
  await expect(passkey).toHaveCount(0);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/account/sign-in");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.locator("#passkey-status")).toContainText("not known");
  await context.close();
});

test("email preferences are saved from the account page, unticked by default", async ({ page }) => {
  const email = `prefs.${Date.now()}@example.test`;
  await signInAsShopper(page, email);
  const news = page.getByLabel("Send me news and offers");
  await expect(news).not.toBeChecked();
  await news.check();
  await page.getByRole("button", { name: "Save preferences" }).click();
  await expect(page.getByTestId("account-notice")).toHaveText("Email preferences saved.");
  await expect(news).toBeChecked();
  await news.uncheck();
  await page.getByRole("button", { name: "Save preferences" }).click();
  await expect(news).not.toBeChecked();
});
