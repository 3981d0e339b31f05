-- 0009_mailer: what punyaka-mailer (workers/mail/, issue 17 "E-mail")
-- needs beside 0008's outbox.
--
-- A wake-up instead of a poll: the mailer LISTENs on `punyaka_mail` and
-- sleeps until a notification_emails row is inserted (or its slow re-check,
-- or the next retry, is due), so an idle mailer runs about no statements
-- (issue 16's budget: an idle stack ≤ 1 transaction a second). NOTIFY is
-- transactional: it arrives when the notifier's transaction commits, and the
-- row is visible then. One per statement; the payload is empty because the
-- mailer reads the outbox itself.
CREATE FUNCTION notification_emails_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('punyaka_mail', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER notification_emails_notify AFTER INSERT ON notification_emails
    FOR EACH STATEMENT EXECUTE FUNCTION notification_emails_notify();

-- `skipped`: not sent, and never will be, because the recipient turned
-- e-mail off (users.email_notifications) or was deactivated after the row
-- was queued; the mailer decides with the user's settings at send time.
-- `failed` stays for mails that could not be delivered.
ALTER TABLE notification_emails DROP CONSTRAINT notification_emails_status_check;
ALTER TABLE notification_emails ADD CONSTRAINT notification_emails_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));
