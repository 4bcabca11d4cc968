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

/** axe-core's WCAG 2.1 A/AA findings on the page, one line each. */
export async function violations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  return results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
}
