-- E-mail notifications (issue 4): what the SLA watcher and the recipient lookup query.
--
-- The SLA watcher looks, every minute, for open tickets whose warning instant has passed and
-- whose breach is not yet recorded in `sla_notified`. These partial indexes hold only those
-- tickets (their conditions are repeated word for word in the watcher's queries, so both
-- planners use them): a pass reads the tickets it has to act on, not every open ticket.
CREATE INDEX tickets_sla_own_watch ON tickets (own_warn_at)
    WHERE owned_at IS NULL AND status IN ('new', 'assigned', 'planned') AND sla_notified NOT LIKE '%own_breach%';
CREATE INDEX tickets_sla_resolve_watch ON tickets (resolve_warn_at)
    WHERE status IN ('new', 'assigned', 'planned') AND sla_notified NOT LIKE '%resolve_breach%';

-- The users who handle tickets of an entity (notified about unassigned tickets).
CREATE INDEX user_grants_entity ON user_grants (entity_id);
