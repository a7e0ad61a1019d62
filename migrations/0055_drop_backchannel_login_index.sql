-- Issue 16/18: a user's pending backchannel requests are listed by the user's own Durable Object
-- (UserObject, binding USERS; docs/storage-schema.md), which also counts the per-user caps.
-- Creating a request writes nothing to D1 any more. Requests pending at deploy time leave the
-- user's list (they stay pollable and expire within CIBA_REQUEST_LIFETIME).
DROP INDEX IF EXISTS backchannel_login_index_by_subject;
DROP TABLE IF EXISTS backchannel_login_index;
