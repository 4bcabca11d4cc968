import { defineConfig, devices } from "@playwright/test";

// The suite runs against the release build: `cargo leptos build --release` first
// (scripts/test.sh does). The server gets a fresh data directory, so a fresh demo catalog.
const port = Number(process.env.KASSA_E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: "/usr/bin/chromium",
          args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        },
      },
    },
  ],
  webServer: {
    // A fresh shop with an owner account for the admin tests.
    command:
      "rm -rf target/e2e-data && echo 'e2e owner password' | target/release/kassa create-admin --email owner@e2e.test && exec target/release/kassa serve",
    cwd: "..",
    url: `${baseURL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      KASSA_ADDR: `127.0.0.1:${port}`,
      KASSA_DATA_DIR: "target/e2e-data",
      RUST_LOG: "warn",
    },
  },
});
