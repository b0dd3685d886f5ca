-- Reason: any process may submit any job, on any machine: a checked first frame is kept in the
-- database too, so a process that does not have the file on its disk writes it from here.
CREATE TABLE frames (
    name TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    at   REAL NOT NULL
);
