-- Shots are looked up through their persons' records (Tx.CanonicalShots:
-- a shot key includes its person), so the index of the keys themselves is
-- not needed. It was the one index of random keys written by every
-- intake: at 2 million records every insert touched a random page of it.
DROP INDEX doses_shot;
