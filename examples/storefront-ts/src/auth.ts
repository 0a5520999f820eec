// Accounts: register, log in, refresh (and what a reused refresh token does), the profile, log out.

import { check, checkId, checkTime, equal, expectData, expectEmpty, expectProblem, step } from "./check.ts";
import { type Api, Session, type TokenResponse, anonymous, signedIn } from "./client.ts";

const PASSWORD = "correct horse battery staple";

function checkTokens(tokens: TokenResponse, email: string, what: string): void {
  check(tokens.access_token.length > 0, `${what}: empty access_token`);
  check(tokens.refresh_token.length > 0, `${what}: empty refresh_token`);
  equal(tokens.token_type, "Bearer", `${what}: token_type`);
  check(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0, `${what}: expires_in ${tokens.expires_in}`);
  checkId(tokens.user.id, "usr", `${what}: user.id`);
  equal(tokens.user.email, email, `${what}: user.email`);
  equal(tokens.user.role, "customer", `${what}: user.role`);
  equal(tokens.user.active, true, `${what}: user.active`);
  checkTime(tokens.user.created_at, `${what}: user.created_at`);
}

/** A signed-in customer, for the steps that need one. */
export interface Customer {
  readonly email: string;
  readonly session: Session;
  readonly api: Api;
}

export async function accounts(baseUrl: string): Promise<Customer> {
  const api = anonymous(baseUrl);
  // A new address per run, so the script runs again and again against the same shop.
  const local = `shopper.${Date.now()}.${Math.random().toString(36).slice(2, 8)}`;
  const email = `${local}@example.com`;
  let session: Session | undefined;

  await step("register a customer (the email is normalised to lower case)", async () => {
    const answer = await api.POST("/api/v1/auth/register", {
      body: { email: `${local}@Example.COM`, password: PASSWORD, first_name: "Asha", last_name: "Rao" },
    });
    const tokens = expectData(answer, 201, "register");
    checkTokens(tokens, email, "register");
    equal(tokens.user.first_name, "Asha", "register: first_name");
    equal(tokens.user.phone, null, "register: phone (none given)");
    session = Session.from(tokens);
  });

  await step("register the same email again: 409 email_taken", async () => {
    const answer = await api.POST("/api/v1/auth/register", { body: { email, password: PASSWORD } });
    expectProblem(answer, 409, "email_taken", "register again");
  });

  await step("log in with a wrong password: 401 invalid_credentials", async () => {
    const answer = await api.POST("/api/v1/auth/login", { body: { email, password: "not the password" } });
    expectProblem(answer, 401, "invalid_credentials", "wrong password");
  });

  await step("log in, refresh, and see a reused refresh token revoke its login", async () => {
    const login = expectData(await api.POST("/api/v1/auth/login", { body: { email, password: PASSWORD } }), 200, "login");
    checkTokens(login, email, "login");
    const refreshed = expectData(
      await api.POST("/api/v1/auth/refresh", { body: { refresh_token: login.refresh_token } }),
      200,
      "refresh",
    );
    checkTokens(refreshed, email, "refresh");
    check(refreshed.refresh_token !== login.refresh_token, "refresh: the refresh token was not rotated");
    const reused = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: login.refresh_token } });
    expectProblem(reused, 401, "token_reused", "refresh with the rotated token");
    // Reuse revokes the whole family: the newest token of that login stops working too.
    const family = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: refreshed.refresh_token } });
    expectProblem(family, 401, "token_invalid", "refresh after reuse");
  });

  if (session === undefined) throw new Error("unreachable: register sets the session");
  const customer: Customer = { email, session, api: signedIn(baseUrl, session) };

  await step("refresh the registration's session (a separate login, untouched by the reuse)", async () => {
    const answer = await api.POST("/api/v1/auth/refresh", { body: { refresh_token: customer.session.refreshToken } });
    const tokens = expectData(answer, 200, "refresh");
    checkTokens(tokens, email, "refresh");
    customer.session.update(tokens);
  });

  await step("read and update the profile", async () => {
    const me = expectData(await customer.api.GET("/api/v1/me"), 200, "GET /me");
    equal(me.email, email, "me.email");
    checkTime(me.updated_at, "me.updated_at");
    const patched = expectData(
      await customer.api.PATCH("/api/v1/me", { body: { phone: "+91 98450 00000", last_name: "Rao-Iyer" } }),
      200,
      "PATCH /me",
    );
    equal(patched.phone, "+91 98450 00000", "patched phone");
    equal(patched.last_name, "Rao-Iyer", "patched last_name");
    equal(patched.first_name, "Asha", "first_name kept");
    const cleared = expectData(await customer.api.PATCH("/api/v1/me", { body: { phone: null } }), 200, "clear phone");
    equal(cleared.phone, null, "cleared phone");
  });

  await step("without a token /me is 401 unauthenticated", async () => {
    expectProblem(await api.GET("/api/v1/me"), 401, "unauthenticated", "GET /me anonymously");
  });

  return customer;
}

/** Logs the customer out: the refresh token stops working. */
export async function logout(baseUrl: string, customer: Customer): Promise<void> {
  const api = anonymous(baseUrl);
  await step("log out: the refresh token stops working", async () => {
    const refresh_token = customer.session.refreshToken;
    expectEmpty(await api.POST("/api/v1/auth/logout", { body: { refresh_token } }), 204, "logout");
    const after = await api.POST("/api/v1/auth/refresh", { body: { refresh_token } });
    expectProblem(after, 401, "token_invalid", "refresh after logout");
  });
}
