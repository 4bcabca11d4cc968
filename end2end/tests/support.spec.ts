import { test, expect } from "@playwright/test";
import { mailbox, signIn, violations } from "./support";

test("a shopper writes, the inbox shows it live, staff reply and the shopper reads it from the email", async ({ page, browser }) => {
  // Staff watch the inbox.
  await signIn(page);
  await page.goto("/admin/support?status=open");
  await expect(page.locator("[data-live-section]")).toHaveAttribute("data-live", "true");
  expect(await violations(page)).toEqual([]);

  // A shopper writes from the contact page, in a browser of their own.
  const context = await browser.newContext();
  const shopper = await context.newPage();
  const email = `help.${Date.now()}@example.test`;
  await shopper.goto("/");
  await shopper.getByRole("link", { name: "Contact us" }).click();
  await shopper.getByLabel("Your name").fill("Grace Hopper");
  await shopper.getByLabel("Email").fill(email);
  await shopper.getByLabel("Message").fill("Does the linen shirt run small?");
  await shopper.getByRole("button", { name: "Send message" }).click();
  await expect(shopper).toHaveURL(/\/support\/[0-9a-f]{32}\?sent=1$/);
  await expect(shopper.getByTestId("support-notice")).toBeVisible();
  await expect(shopper.getByTestId("support-thread")).toContainText("Does the linen shirt run small?");
  expect(await violations(shopper)).toEqual([]);

  // The inbox shows it without a reload.
  const row = page.getByTestId("support-row").filter({ hasText: email });
  await expect(row).toBeVisible({ timeout: 10_000 });
  await row.getByRole("link", { name: "Grace Hopper" }).click();
  await expect(page.getByTestId("support-thread")).toContainText("run small");
  expect(await violations(page)).toEqual([]);

  // An internal note, then a reply.
  const form = page.getByTestId("support-reply");
  await form.getByLabel("Reply").fill("Sizes are from the 2024 chart.");
  await form.getByLabel("Internal note (never shown to the shopper)").check();
  await form.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("message-note")).toContainText("2024 chart");
  await form.getByLabel("Reply").fill("It fits true to size; if in doubt, take the larger one.");
  await form.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("conversation-status")).toContainText("Waiting for the shopper");

  // The shopper reads the answer from the emailed link, never the note, and replies.
  let link = "";
  await expect
    .poll(
      async () => {
        const answer = (await mailbox(email)).find((m) => /An answer from/.test(m.subject));
        link = answer?.body.match(/https?:\/\/\S+\/support\/[0-9a-f]{32}/)?.[0] ?? "";
        return link;
      },
      { timeout: 15_000 },
    )
    .not.toBe("");
  const url = new URL(link);
  await shopper.goto(url.pathname);
  await expect(shopper.getByTestId("support-thread")).toContainText("true to size");
  await expect(shopper.getByTestId("support-thread")).not.toContainText("2024 chart");
  await shopper.getByLabel("Your reply").fill("Thank you!");
  await shopper.getByRole("button", { name: "Send reply" }).click();
  await expect(shopper.getByTestId("support-thread")).toContainText("Thank you!");

  // Staff see the reply arrive live.
  await expect(page.getByTestId("support-thread")).toContainText("Thank you!", { timeout: 10_000 });
  await context.close();
});
