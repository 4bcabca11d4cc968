import { test, expect } from "@playwright/test";
import { mailbox, signIn, violations } from "./support";

/** The link in the newest confirmation email to `to` (waits for it to arrive). */
async function confirmationLink(to: string): Promise<string> {
  let link = "";
  await expect
    .poll(
      async () => {
        const mails = (await mailbox(to)).filter((m) => /Confirm your subscription/.test(m.subject));
        const match = mails.length ? mails[mails.length - 1].body.match(/https?:\/\/\S+\/newsletter\?confirm=[0-9a-f]{32}/) : null;
        link = match ? match[0] : "";
        return link;
      },
      { timeout: 15_000 },
    )
    .not.toBe("");
  return link;
}

test("a sign-up in the footer is confirmed from the email, then undone", async ({ page }) => {
  const email = `news.${Date.now()}@example.test`;
  await page.goto("/");
  const form = page.getByTestId("newsletter-sign-up");
  await form.getByLabel("Newsletter").fill(email);
  await form.getByRole("button", { name: "Subscribe" }).click();
  await expect(page).toHaveURL(/\/newsletter\?sent=1$/);
  await expect(page.getByTestId("newsletter-notice")).toContainText("we sent you an email");
  expect(await violations(page)).toEqual([]);

  // The emailed link leads to a button: opening it alone (a mail scanner) confirms nothing.
  const link = new URL(await confirmationLink(email));
  await page.goto(link.pathname + link.search);
  await page.getByRole("button", { name: "Confirm my subscription" }).click();
  await expect(page.getByTestId("newsletter-notice")).toContainText("you are subscribed");

  const token = link.searchParams.get("confirm")!;
  await page.goto(`/newsletter?unsubscribe=${token}`);
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await expect(page.getByTestId("newsletter-notice")).toContainText("You are unsubscribed");
  expect(await violations(page)).toEqual([]);
});

test("staff write a campaign, preview it, test it on themselves and send it to subscribers", async ({ page }) => {
  // A confirmed subscriber.
  const reader = `reader.${Date.now()}@example.test`;
  await page.goto("/");
  const form = page.getByTestId("newsletter-sign-up");
  await form.getByLabel("Newsletter").fill(reader);
  await form.getByRole("button", { name: "Subscribe" }).click();
  const link = new URL(await confirmationLink(reader));
  await page.goto(link.pathname + link.search);
  await page.getByRole("button", { name: "Confirm my subscription" }).click();
  await expect(page.getByTestId("newsletter-notice")).toContainText("you are subscribed");

  await signIn(page);
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto("/admin/newsletter");
  await page.getByRole("link", { name: "Campaigns" }).click();
  await expect(page).toHaveURL(/\/admin\/newsletter\/campaigns$/);
  const subject = `Linen is back ${Date.now()}`;
  const draft = page.getByTestId("new-campaign");
  await draft.getByLabel("Subject").fill(subject);
  await draft.getByLabel("Message (Markdown)").fill("## New shirts\n\n**Linen**, washed soft.\n\n<script>alert(1)</script>");
  await draft.getByRole("button", { name: "Save draft" }).click();
  await expect(page).toHaveURL(/\/admin\/newsletter\/campaigns\/\d+/);
  const preview = page.getByTestId("campaign-preview");
  await expect(preview.getByRole("heading", { name: "New shirts" })).toBeVisible();
  await expect(preview.locator("strong")).toHaveText("Linen");
  await expect(preview.locator("script")).toHaveCount(0);
  expect(await violations(page)).toEqual([]);

  await page.getByRole("button", { name: "Send a test to owner@e2e.test" }).click();
  await expect(page.getByTestId("admin-notice")).toContainText("A test copy is on its way");
  await expect
    .poll(async () => (await mailbox("owner@e2e.test")).some((m) => m.subject === `[Test] ${subject}`), { timeout: 15_000 })
    .toBe(true);

  await page.getByRole("button", { name: /^Send to \d+ subscribers$/ }).click();
  await expect(page.getByTestId("admin-notice")).toContainText("Sending to");
  await expect(page.getByTestId("campaign-progress")).toBeVisible();
  await expect
    .poll(async () => (await mailbox(reader)).find((m) => m.subject === subject)?.headers.some((h) => /^List-Unsubscribe-Post:/i.test(h)) ?? false, {
      timeout: 15_000,
    })
    .toBe(true);
  // The figures follow the outbox: the copy counts as sent once the mail server took it.
  await expect
    .poll(
      async () => {
        await page.reload();
        return Number(await page.getByTestId("campaign-sent").textContent());
      },
      { timeout: 20_000 },
    )
    .toBeGreaterThanOrEqual(1);
  expect(await violations(page)).toEqual([]);
});
