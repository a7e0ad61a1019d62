import { jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { registerClient } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody, postForm, publishedKeys } from "./helpers/http";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "cc-basic-secret-0123456789";

beforeAll(async () => {
  await registerClient({ client_id: "cc-basic", client_secret: SECRET, scope: "openid api:read api:write" });
  await registerClient({ client_id: "no-cc", client_secret: SECRET, grant_types: ["refresh_token"] });
});

describe("client_credentials grant (RFC 6749 §4.4) with openid-client", () => {
  it("issues an RFC 9068 access token that verifies against /jwks", async () => {
    const config = await discoverAs("cc-basic", SECRET, client.ClientSecretBasic(SECRET));
    const tokens = await client.clientCredentialsGrant(config, { scope: "api:read" });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBe(600);
    expect(tokens.scope).toBe("api:read");

    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, await publishedKeys(), {
      issuer: ISSUER,
      typ: "at+jwt",
    });
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: "cc-basic",
      aud: ISSUER,
      client_id: "cc-basic",
      scope: "api:read",
    });
    expect(typeof payload.jti).toBe("string");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(600);
  });

  it("grants every registered API scope when no scope is asked for", async () => {
    const config = await discoverAs("cc-basic", SECRET, client.ClientSecretBasic(SECRET));
    const tokens = await client.clientCredentialsGrant(config);
    expect(tokens.scope).toBe("api:read api:write");
  });
});

describe("token endpoint errors (RFC 6749 §5.2)", () => {
  it("answers success and errors with Cache-Control: no-store", async () => {
    const ok = await postForm("/token", { grant_type: "client_credentials" }, basic("cc-basic", SECRET));
    expect(ok.status).toBe(200);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    const bad = await postForm("/token", { grant_type: "client_credentials" }, basic("cc-basic", "wrong"));
    expect(bad.headers.get("cache-control")).toBe("no-store");
  });

  it("refuses a grant_type it does not implement with unsupported_grant_type", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { grant_type: "password" }, basic("cc-basic", SECRET)),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("unsupported_grant_type");
  });

  it("requires grant_type", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(await postForm("/token", {}, basic("cc-basic", SECRET)));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses a grant the client is not registered for with unauthorized_client", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { grant_type: "client_credentials" }, basic("no-cc", SECRET)),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("unauthorized_client");
  });

  it("refuses a scope outside the client's registration with invalid_scope", async () => {
    for (const scope of ["api:admin", "openid", "api:read offline_access"]) {
      const { status, body } = await jsonOf<OAuthErrorBody>(
        await postForm("/token", { grant_type: "client_credentials", scope }, basic("cc-basic", SECRET)),
      );
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_scope");
    }
  });
});
