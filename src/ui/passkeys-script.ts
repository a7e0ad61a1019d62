/**
 * /assets/passkeys.js: the browser side of passkeys, served as a file so the pages' CSP stays
 * `script-src 'self'`. It uses the WebAuthn Level 3 JSON helpers
 * (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON, toJSON) and
 * shows its buttons only where they exist. Its URLs and the CSRF token come from the
 * #passkey-config element (./passkeys.tsx). "Approve with passkey" fills the #answer-form's
 * passkey_assertion field and submits it with approve in the field data-approve-field names
 * (`action` on the CIBA request page, `decision` on the consent page).
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";

const PASSKEY_SCRIPT = `"use strict";
(function () {
  const config = document.getElementById("passkey-config");
  const PKC = window.PublicKeyCredential;
  if (!config || !PKC || !PKC.parseCreationOptionsFromJSON || !PKC.parseRequestOptionsFromJSON) return;
  const d = config.dataset;
  const status = document.getElementById("passkey-status");
  const say = (text) => { if (status) status.textContent = text; };
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/json", "x-csrf-token": d.csrf },
    body: JSON.stringify(body || {}),
  });
  const problem = async (response) => {
    try { const b = await response.json(); return b.error_description || b.error || String(response.status); }
    catch (e) { return String(response.status); }
  };
  const assertion = async (optionsUrl) => {
    const answer = await post(optionsUrl);
    if (!answer.ok) throw new Error(await problem(answer));
    const publicKey = PKC.parseRequestOptionsFromJSON(await answer.json());
    const credential = await navigator.credentials.get({ publicKey: publicKey });
    return credential.toJSON();
  };
  const show = (id, run) => {
    const button = document.getElementById(id);
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      button.disabled = true;
      try { await run(); } catch (e) { say("Passkey: " + (e && e.message ? e.message : e)); }
      finally { button.disabled = false; }
    });
  };
  show("passkey-add", async () => {
    const answer = await post(d.registerOptions);
    if (!answer.ok) throw new Error(await problem(answer));
    const publicKey = PKC.parseCreationOptionsFromJSON(await answer.json());
    const credential = await navigator.credentials.create({ publicKey: publicKey });
    const label = (document.getElementById("passkey-label") || {}).value || "Passkey";
    const stored = await post(d.register, { response: credential.toJSON(), label: label });
    if (!stored.ok) throw new Error(await problem(stored));
    location.reload();
  });
  show("passkey-sign-in", async () => {
    const response = await assertion(d.signInOptions);
    const answer = await post(d.signIn, { response: response, return_to: d.returnTo });
    if (!answer.ok) throw new Error(await problem(answer));
    location.assign((await answer.json()).redirect);
  });
  show("passkey-approve", async () => {
    const response = await assertion(d.stepUpOptions);
    const form = document.getElementById("answer-form");
    form.querySelector("input[name=passkey_assertion]").value = JSON.stringify(response);
    const action = document.createElement("input");
    action.type = "hidden"; action.name = d.approveField || "action"; action.value = "approve";
    form.appendChild(action);
    form.submit();
  });
})();
`;

export function passkeyScript(c: Context<AppEnv>) {
  return c.body(PASSKEY_SCRIPT, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=3600",
    "X-Content-Type-Options": "nosniff",
  });
}
