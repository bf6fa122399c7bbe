-- Ticket lists (issue 4): the default list is the open tickets by priority, highest first.
--
-- Open tickets are a small part of a helpdesk's history (most are closed), but without an index
-- in that order the list sorts every open ticket of the reader's scope (80 000 of a million in
-- the benchmark) to show 50. This partial index holds only the open ones, in list order, with
-- their entity so the reader's scope is checked from the index alone. Its condition is the list
-- filter's word for word (parc-store helpdesk/tickets.rs, `push_filters`): PostgreSQL's planner
-- picks it by itself; on SQLite the list names it (`walks_open_index`, INDEXED BY), as SQLite
-- prefers merging the four status ranges of `tickets_status_priority` and sorting them.
CREATE INDEX tickets_open_priority ON tickets (priority, id, entity_id)
    WHERE status IN ('new', 'assigned', 'planned', 'pending');
