/**
 * Passkeys on the account page (issue 16: "add and remove passkeys on the account / /ciba
 * pages"): /account lists the signed-in user's passkeys with the /passkeys page's own list (a
 * Remove form each, and "Add a passkey"), and a removal made there comes back to /account.
 */
import { describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { addPasskey, newPasswordUser, sessionWithPasskey } from "./helpers/passkey-session";
import { SoftAuthenticator } from "./helpers/soft-authenticator";

/** The remove forms' actions on a page, in order. */
const removeActions = (html: string) =>
  [...html.matchAll(/action="(\/passkeys\/[^"]+\/remove)"/g)].map((m) => (m[1] ?? "").replace(/&amp;/g, "&"));

describe("/account lists the user's passkeys, to add and remove", () => {
  it("shows each passkey with a Remove form and the Add a passkey button", async () => {
    const user = await newPasswordUser("acct");
    const browser = await sessionWithPasskey(user.username, new SoftAuthenticator());
    await addPasskey(browser, new SoftAuthenticator(), "Laptop");
    const html = await (await browser.get("/account")).text();
    expect(html).toContain("Test phone");
    expect(html).toContain("Laptop");
    expect(removeActions(html)).toHaveLength(2);
    expect(html).toContain('id="passkey-add"');
    expect(html).toContain('id="passkey-config"');
  });

  it("a user without passkeys is told so", async () => {
    const user = await newPasswordUser("acct");
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const html = await (await browser.get("/account")).text();
    expect(html).toContain("You have no passkeys yet.");
    expect(removeActions(html)).toHaveLength(0);
  });

  it("removing one from /account removes it and comes back to /account", async () => {
    const user = await newPasswordUser("acct");
    const browser = await sessionWithPasskey(user.username, new SoftAuthenticator());
    const html = await (await browser.get("/account")).text();
    const [action] = removeActions(html);
    const answer = await browser.post(action ?? "", { csrf: Browser.csrfOf(html), back: "account" });
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toBe("/account");
    const after = await (await browser.get("/account")).text();
    expect(after).not.toContain("Test phone");
    expect(removeActions(after)).toHaveLength(0);
  });

  it("the removal's way back is one of the listing pages, never a URL from the form", async () => {
    const user = await newPasswordUser("acct");
    const browser = await sessionWithPasskey(user.username, new SoftAuthenticator());
    const html = await (await browser.get("/account")).text();
    const [action] = removeActions(html);
    const answer = await browser.post(action ?? "", { csrf: Browser.csrfOf(html), back: "https://evil.example/" });
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toBe("/passkeys");
  });

  it("another user's passkey cannot be removed from this account", async () => {
    const owner = await newPasswordUser("acct");
    const ownerBrowser = await sessionWithPasskey(owner.username, new SoftAuthenticator());
    const [action] = removeActions(await (await ownerBrowser.get("/account")).text());
    const other = await newPasswordUser("acct");
    const otherBrowser = new Browser();
    await otherBrowser.signIn(other.username, other.password);
    const csrf = Browser.csrfOf(await (await otherBrowser.get("/account")).text());
    expect((await otherBrowser.post(action ?? "", { csrf, back: "account" })).status).toBe(303);
    expect(await (await ownerBrowser.get("/account")).text()).toContain("Test phone");
  });
});
