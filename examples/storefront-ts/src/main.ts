// A typed storefront walk through the Commerce Engine's REST API, checking every answer.
//
//   npm run storefront -- [BASE_URL]     (default http://127.0.0.1:8080, or $COMMERCE_API_URL)
//
// Exit code 0 when every step passed, 1 at the first mismatch, 2 when the engine is unreachable.

import { addressBook } from "./addresses.ts";
import { accounts, logout } from "./auth.ts";
import { catalog } from "./catalog.ts";
import { Mismatch, stepsPassed } from "./check.ts";

const baseUrl = (process.argv[2] ?? process.env["COMMERCE_API_URL"] ?? "http://127.0.0.1:8080").replace(/\/+$/, "");

async function main(): Promise<number> {
  try {
    const health = await fetch(`${baseUrl}/health`);
    if (!health.ok) throw new Error(`GET /health answered ${health.status}`);
  } catch (e) {
    console.error(`storefront: no engine at ${baseUrl} (${e instanceof Error ? e.message : String(e)})`);
    console.error("start one with `cargo xtask run`, or pass its URL as the first argument");
    return 2;
  }
  console.log(`storefront walk against ${baseUrl}`);
  try {
    await catalog(baseUrl);
    const customer = await accounts(baseUrl);
    await addressBook(customer);
    await logout(baseUrl, customer);
  } catch (e) {
    if (e instanceof Mismatch) {
      console.error(`not ok ${stepsPassed() + 1} - ${e.message}`);
      return 1;
    }
    throw e;
  }
  console.log(`storefront walk: all ${stepsPassed()} steps passed`);
  return 0;
}

process.exitCode = await main();
