import { defineConfig, devices } from "@playwright/test";
import { kassaBin } from "./kassa-bin";

// The suite runs against the release site (`cargo leptos build --release --split`: the WASM,
// JS and CSS shoppers get), served by `kassaBin`. The server gets a fresh data directory, so a
// fresh demo catalog.
const port = Number(process.env.KASSA_E2E_PORT ?? 3107);
const baseURL = `http://127.0.0.1:${port}`;
// The shop's mailer delivers over real SMTP to a mail sink (smtp-sink.mjs) that lists what
// arrived on the port after (see `mailbox` in tests/support.ts).
const smtpPort = port + 1;
const mailboxPort = port + 2;

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
      `node end2end/smtp-sink.mjs ${smtpPort} ${mailboxPort} & ` +
      `rm -rf target/e2e-data && echo 'e2e owner password' | ${kassaBin} create-admin --email owner@e2e.test && exec ${kassaBin} serve`,
    cwd: "..",
    url: `${baseURL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      KASSA_ADDR: `127.0.0.1:${port}`,
      KASSA_DATA_DIR: "target/e2e-data",
      KASSA_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      // A host name, not an IP address: passkeys are bound to one (tests/passkeys.spec.ts).
      KASSA_PUBLIC_URL: `http://localhost:${port}`,
      RUST_LOG: "warn",
    },
  },
});
