// A typed client for the engine: openapi-fetch over the types that openapi-typescript generated
// from the served /openapi.json (`npm run generate`). Nothing here is hand-typed: a field the
// document gets wrong shows up as a compile error under `tsc --strict`.

import createClient, { type Middleware } from "openapi-fetch";
import type { SuccessResponseJSON } from "openapi-typescript-helpers";

import type { paths } from "./generated/api.ts";

export type { paths };

/** The storefront's view of a token response: what register, login and refresh answer. */
export type TokenResponse = SuccessResponseJSON<paths["/api/v1/auth/login"]["post"]>;

/** A customer session: the current token pair, replaced on every refresh (refresh tokens are single use). */
export class Session {
  constructor(
    public accessToken: string,
    public refreshToken: string,
  ) {}

  static from(tokens: TokenResponse): Session {
    return new Session(tokens.access_token, tokens.refresh_token);
  }

  update(tokens: TokenResponse): void {
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
  }
}

export type Api = ReturnType<typeof createClient<paths>>;

/** An anonymous client (catalog, auth). */
export function anonymous(baseUrl: string): Api {
  return createClient<paths>({ baseUrl });
}

/** A client that sends the session's current access token on every request. */
export function signedIn(baseUrl: string, session: Session): Api {
  const client = createClient<paths>({ baseUrl });
  const bearer: Middleware = {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${session.accessToken}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
}
