import { test, expect } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { kassaBin } from "../kassa-bin";
import { hydrated, mailbox } from "./support";

/** The newest email to `to` whose subject matches, once it has arrived. */
async function newest(to: string, subject: RegExp) {
  let found: { subject: string; body: string; headers: string[] } | undefined;
  await expect
    .poll(
      async () => {
        const mails = (await mailbox(to)).filter((m) => subject.test(m.subject));
        found = mails[mails.length - 1];
        return !!found;
      },
      { timeout: 20_000 },
    )
    .toBe(true);
  return found!;
}

/** Runs the reminder job as if `hours` had passed (the server's own job runs every 30 s). */
function sendReminders(hours: number) {
  const port = Number(process.env.KASSA_E2E_PORT ?? 3107);
  execFileSync(kassaBin, ["send-reminders", "--hours-later", String(hours)], {
    cwd: "..",
    env: { ...process.env, KASSA_DATA_DIR: "target/e2e-data", KASSA_PUBLIC_URL: `http://localhost:${port}`, RUST_LOG: "warn" },
    stdio: "pipe",
  });
}

test("a subscriber who leaves checkout gets one reminder whose link brings the cart back", async ({ page, browser }) => {
  const email = `remind.${Date.now()}@example.test`;
  // A confirmed subscriber: the consent to marketing email.
  await page.goto("/");
  const form = page.getByTestId("newsletter-sign-up");
  await form.getByLabel("Newsletter").fill(email);
  await form.getByRole("button", { name: "Subscribe" }).click();
  const confirmation = await newest(email, /Confirm your subscription/);
  const link = new URL(confirmation.body.match(/https?:\/\/\S+\/newsletter\?confirm=[0-9a-f]{32}/)![0]);
  await page.goto(link.pathname + link.search);
  await page.getByRole("button", { name: "Confirm my subscription" }).click();
  await expect(page.getByTestId("newsletter-notice")).toContainText("you are subscribed");

  // Two mugs in the cart, the email typed at checkout, then nothing.
  await page.goto("/products/stoneware-mug");
  await hydrated(page);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("1");
  await page.getByRole("button", { name: "Added ✓" }).click();
  await expect(page.getByTestId("cart-count")).toHaveText("2");
  const remembered = page.waitForResponse((r) => r.url().includes("/api/checkout/remember") && r.ok());
  await page.goto("/checkout");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await remembered;

  sendReminders(5);
  const reminder = await newest(email, /is waiting/);
  expect(reminder.body).toContain("2 × Stoneware Mug");
  expect(reminder.headers.some((h) => /^List-Unsubscribe: <http/i.test(h))).toBe(true);
  expect(reminder.headers).toContain("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
  sendReminders(6);

  // On another device: the link puts the two mugs in its empty cart.
  const other = await browser.newContext();
  const phone = await other.newPage();
  const restore = new URL(reminder.body.match(/https?:\/\/\S+\/cart\?restore=[0-9a-f]{32}/)![0]);
  await phone.goto(restore.pathname + restore.search);
  await hydrated(phone);
  await expect(phone.getByTestId("cart-count")).toHaveText("2");
  await expect(phone).toHaveURL(/\/cart$/);
  await other.close();
  // Only one reminder for this checkout.
  expect((await mailbox(email)).filter((m) => /is waiting/.test(m.subject))).toHaveLength(1);
});
