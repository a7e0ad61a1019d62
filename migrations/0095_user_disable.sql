-- Disabling a user in the administration console (issue 17). A user with `disabled_at` set
-- (Unix seconds) is not found by edge-op's D1UserStore: the user cannot sign in (password or
-- passkey), is unknown_user_id at /bc-authorize (CIBA §13) and at /userinfo. Disabling also ends
-- the user's sessions and revokes the user's grants (revoked_grants reason 'user_removed', and
-- the refresh-token families). NULL: the user is active.
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
