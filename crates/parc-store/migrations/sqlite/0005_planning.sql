-- Planning (issue 4): a technician's appointments are read by time range. `ticket_tasks_planning`
-- (technician, planned_start) of 0003 walks every past appointment of the technician for
-- "planned_end > from"; this index starts at the range instead, skipping the past ones.
CREATE INDEX ticket_tasks_planning_end ON ticket_tasks (technician_user_id, planned_end);
