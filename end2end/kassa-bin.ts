/**
 * The server binary the suite runs: the release server unless `KASSA_E2E_BIN` names another.
 * scripts/test.sh names the debug server its Rust tests have just built (see there).
 */
export const kassaBin = process.env.KASSA_E2E_BIN ?? "target/release/kassa";
