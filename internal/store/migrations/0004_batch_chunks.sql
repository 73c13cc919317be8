-- Row outcomes of uploads are stored per committed transaction (one row
-- holding the outcomes of up to a few thousand doses) rather than per dose:
-- the per-dose rows doubled the writes of an upload.
DROP TABLE batch_rows;

-- The outcomes of the doses a batch's transaction processed, rows
-- first_row..last_row, as a JSON array of objects {r: row, i: idx, s: site,
-- d: record_id, o: outcome, e: errors, n: notes, h: hash}.
CREATE TABLE batch_chunks (
    owner     TEXT NOT NULL,
    batch_key TEXT NOT NULL,
    first_row BIGINT NOT NULL,
    last_row  BIGINT NOT NULL,
    rows_json TEXT NOT NULL,
    PRIMARY KEY (owner, batch_key, first_row)
);
