import { test, expect } from "@playwright/test";
import { mailbox, violations } from "./support";

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
