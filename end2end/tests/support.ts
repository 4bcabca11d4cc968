import { expect, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

/** The WASM has hydrated the page once `<body data-hydrated>` is set. */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Signs in as the owner the suite's server was started with; lands on the dashboard. */
export async function signIn(page: Page) {
  await page.goto("/admin");
  await expect(page).toHaveURL(/\/admin\/sign-in/);
  await page.getByLabel("Email").fill("owner@e2e.test");
  await page.getByLabel("Password").fill("e2e owner password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/admin$/);
}

/** The emails the shop sent to `to`, as the suite's mail sink received them over SMTP. */
export async function mailbox(to: string): Promise<{ subject: string; body: string; headers: string[] }[]> {
  const port = Number(process.env.KASSA_E2E_PORT ?? 3107) + 2;
  const response = await fetch(`http://127.0.0.1:${port}/messages?to=${encodeURIComponent(to)}`);
  return response.json();
}

/** The newest sign-in code emailed to `to` (waits for the email to arrive). */
export async function signInCode(to: string, after = 0): Promise<string> {
  let code = "";
  await expect
    .poll(
      async () => {
        const codes = (await mailbox(to)).filter((m) => /sign-in code/.test(m.subject));
        code = codes.length > after ? codes[codes.length - 1].subject.slice(0, 6) : "";
        return code;
      },
      { timeout: 15_000 },
    )
    .toMatch(/^\d{6}$/);
  return code;
}

/** Signs a shopper in with an emailed code, on the page's own forms. */
export async function signInAsShopper(page: Page, email: string, next = "/account") {
  const before = (await mailbox(email)).filter((m) => /sign-in code/.test(m.subject)).length;
  await page.goto(`/account/sign-in?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Email me a code" }).click();
  await expect(page.getByTestId("code-email")).toHaveText(email);
  await page.getByLabel("Code").fill(await signInCode(email, before));
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** axe-core's WCAG 2.1 A/AA findings on the page, one line each. */
export async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}
