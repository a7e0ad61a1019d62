-- Issue 18: the user's recent answers to backchannel requests live in the user's Durable Object
-- (src/users/user-object.ts: the request's pending entry becomes the answer in place), so a
-- CIBA flow writes nothing to D1. ciba_decisions (0046) is no longer written or read.
DROP INDEX IF EXISTS ciba_decisions_by_subject;
DROP INDEX IF EXISTS ciba_decisions_by_time;
DROP TABLE IF EXISTS ciba_decisions;
