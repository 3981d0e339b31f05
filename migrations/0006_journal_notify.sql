-- 0006_journal_notify: wake the outbox relays when a journal row commits.
--
-- Each worker's relay (workers/relay.h) LISTENs on `punyaka_journal` and
-- sleeps until told, instead of polling the journal four times a second
-- (issue 16: an idle system runs ≈ no statements). NOTIFY is transactional:
-- PostgreSQL delivers it when the command's transaction commits, never for
-- one that rolls back, so a relay woken by it finds the row visible. A
-- trigger rather than a NOTIFY in workers/txn.c: no extra round trip per
-- command, and every writer of the journal wakes the relays alike. One
-- notification per statement (and PostgreSQL folds identical ones within a
-- transaction); the payload is empty because the relay reads the journal
-- itself, in seq order.
CREATE FUNCTION journal_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('punyaka_journal', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER journal_notify AFTER INSERT ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION journal_notify();
