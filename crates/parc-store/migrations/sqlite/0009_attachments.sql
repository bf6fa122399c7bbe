-- Attachments (issue 4): files attached to a ticket or to one of its follow-ups (a photo of an
-- error screen, a quote, a log). They live in `documents` with kind 'attachment', immutable like
-- the signed sheets (the triggers of 0003 refuse any UPDATE or DELETE; adding a column is
-- neither). A follow-up's attachments share its privacy: a private follow-up's files are for the
-- ticket's handlers only. Lists read a ticket's documents through `documents_ticket`.
ALTER TABLE documents ADD COLUMN followup_id INTEGER REFERENCES ticket_followups(id) ON DELETE RESTRICT;
-- The follow-up side of the foreign key (checked when a follow-up row would go).
CREATE INDEX documents_followup ON documents (followup_id) WHERE followup_id IS NOT NULL;
