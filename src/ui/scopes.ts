/** Plain words for scopes, as the user sees them on approval and consent pages. */
const DESCRIPTIONS: Record<string, string> = {
  openid: "Confirm that it is you (your account id)",
  profile: "Your name and username",
  email: "Your e-mail address",
  phone: "Your phone number",
  offline_access: "Stay connected while you are not using it",
  "ciba:approve": "See, approve and deny sign-in requests from other devices, as you",
};

export function describeScope(scope: string): string {
  return DESCRIPTIONS[scope] ?? `Access "${scope}"`;
}

/** openid is the protocol itself: it is always granted with an approval, so it has no checkbox. */
export function isOptionalScope(scope: string): boolean {
  return scope !== "openid";
}
