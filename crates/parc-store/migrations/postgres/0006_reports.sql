-- Helpdesk dashboards and reports (issue 4): indexes for the counts and the monthly sums.

-- The dashboard's open tickets, entity by entity, read from the indexes alone: counts per
-- status, priority, technician and group; SLA at risk and breached.
CREATE INDEX tickets_entity_open ON tickets (entity_id, status, priority, assignee_user_id, assignee_group_id);
CREATE INDEX tickets_entity_sla ON tickets (entity_id, status, resolve_due_at, resolve_warn_at, own_due_at, own_warn_at, owned_at);

-- Tickets opened, solved and closed (with their rating) per month, entity by entity.
CREATE INDEX tickets_entity_created ON tickets (entity_id, created_at);
CREATE INDEX tickets_entity_solved ON tickets (entity_id, solved_at);
CREATE INDEX tickets_entity_closed ON tickets (entity_id, closed_at, satisfaction);

-- Time spent per month: a task counts when it was done, else when it was recorded.
CREATE INDEX ticket_tasks_worked ON ticket_tasks ((COALESCE(done_at, created_at)));
