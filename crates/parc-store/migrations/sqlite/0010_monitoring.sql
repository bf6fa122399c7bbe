-- Monitoring (issue 5): monitored hosts (usually assets with an address) and their checks,
-- remote pollers, downtimes, the state-change and notification logs, performance data series.
--
-- Scheduling and state times are INTEGER milliseconds since the Unix epoch (`*_ms`), unlike the
-- RFC 3339 text used elsewhere: the scheduler claims and updates a thousand rows a second and
-- compares them with "now", which is cheapest on plain integers. Audit-facing times
-- (created_at, updated_at) stay text like every other table.

CREATE TABLE monitor_pollers (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    last_seen_at TEXT,
    last_address TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX monitor_pollers_name ON monitor_pollers (lower(name));

CREATE TABLE monitor_hosts (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    asset_id INTEGER UNIQUE REFERENCES assets(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- What a non-technician reads on the status wall ("Serveur de fichiers").
    display_name TEXT,
    address TEXT NOT NULL,
    -- The wall's tile group (a site, a building, "Écoles").
    wall_group TEXT,
    poller_id INTEGER REFERENCES monitor_pollers(id) ON DELETE SET NULL,
    contact_group_id INTEGER REFERENCES user_groups(id) ON DELETE SET NULL,
    escalation_group_id INTEGER REFERENCES user_groups(id) ON DELETE SET NULL,
    escalate_after INTEGER,
    notification_period TEXT,
    renotify_interval_s INTEGER NOT NULL DEFAULT 0,
    open_tickets INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX monitor_hosts_entity_name ON monitor_hosts (entity_id, lower(name));

CREATE TABLE monitor_host_parents (
    host_id INTEGER NOT NULL REFERENCES monitor_hosts(id) ON DELETE CASCADE,
    parent_id INTEGER NOT NULL REFERENCES monitor_hosts(id) ON DELETE CASCADE,
    PRIMARY KEY (host_id, parent_id)
);
CREATE INDEX monitor_host_parents_parent ON monitor_host_parents (parent_id);

-- One row per schedulable check: the host check (is_host = 1, state UP/DOWN/UNREACHABLE) and
-- each service (state OK/WARNING/CRITICAL/UNKNOWN); PENDING until the first result.
CREATE TABLE monitor_services (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES monitor_hosts(id) ON DELETE CASCADE,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    is_host INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    check_interval_s INTEGER NOT NULL,
    retry_interval_s INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    timeout_s INTEGER NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    notifications_enabled INTEGER NOT NULL DEFAULT 1,
    -- Copied from the host: 0 = the central Parc nodes, otherwise the poller that runs it.
    poller_id INTEGER NOT NULL DEFAULT 0,
    -- Bumped by every configuration change, so schedulers reload what they cached.
    config_version INTEGER NOT NULL DEFAULT 1,
    -- Schedule and lease: a claim moves next_check_ms to the end of the lease and keeps the
    -- due time in due_ms; the result puts next_check_ms at the next due time and clears the
    -- lease. A node that dies holding a lease loses nothing: the check is due again at its end.
    next_check_ms INTEGER NOT NULL,
    due_ms INTEGER,
    lease_owner TEXT,
    -- State (check_state is parc-core's CheckState as JSON).
    state TEXT NOT NULL DEFAULT 'PENDING',
    state_type TEXT NOT NULL DEFAULT 'HARD',
    attempt INTEGER NOT NULL DEFAULT 1,
    check_state TEXT,
    last_check_ms INTEGER,
    last_duration_ms INTEGER,
    last_state_change_ms INTEGER,
    last_hard_change_ms INTEGER,
    output TEXT,
    long_output TEXT,
    perfdata TEXT,
    flapping INTEGER NOT NULL DEFAULT 0,
    percent_state_change REAL,
    ack_author TEXT,
    ack_comment TEXT,
    ack_sticky INTEGER,
    ack_at_ms INTEGER,
    notified_problem INTEGER NOT NULL DEFAULT 0,
    notifications_sent INTEGER NOT NULL DEFAULT 0,
    last_notification_ms INTEGER,
    ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX monitor_services_host_name ON monitor_services (host_id, lower(name));
CREATE UNIQUE INDEX monitor_services_host_check ON monitor_services (host_id) WHERE is_host = 1;
CREATE INDEX monitor_services_due ON monitor_services (poller_id, next_check_ms) WHERE enabled = 1;
CREATE INDEX monitor_services_entity_state ON monitor_services (entity_id, state);

-- Service dependencies: the dependent's notifications are held while its master is in a
-- HARD failure state.
CREATE TABLE monitor_service_deps (
    service_id INTEGER NOT NULL REFERENCES monitor_services(id) ON DELETE CASCADE,
    master_id INTEGER NOT NULL REFERENCES monitor_services(id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, master_id)
);
CREATE INDEX monitor_service_deps_master ON monitor_service_deps (master_id);

CREATE TABLE monitor_downtimes (
    id INTEGER PRIMARY KEY,
    host_id INTEGER NOT NULL REFERENCES monitor_hosts(id) ON DELETE CASCADE,
    -- NULL: the host and all its services.
    service_id INTEGER REFERENCES monitor_services(id) ON DELETE CASCADE,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    author TEXT NOT NULL,
    comment TEXT NOT NULL,
    cancelled_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX monitor_downtimes_host ON monitor_downtimes (host_id, end_ms);
CREATE INDEX monitor_downtimes_end ON monitor_downtimes (end_ms);

-- Every state change (SOFT or HARD) with its output: the state-change log and availability.
CREATE TABLE monitor_events (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES monitor_services(id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    state_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    output TEXT
);
CREATE INDEX monitor_events_service ON monitor_events (service_id, at_ms);
CREATE INDEX monitor_events_at ON monitor_events (at_ms);

CREATE TABLE monitor_notifications (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES monitor_services(id) ON DELETE CASCADE,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    number INTEGER NOT NULL,
    escalated INTEGER NOT NULL DEFAULT 0,
    output TEXT
);
CREATE INDEX monitor_notifications_service ON monitor_notifications (service_id, at_ms);

-- Performance data: one series per (check, label), raw samples kept for two days, then
-- five-minute and hourly roll-ups (average, minimum, maximum) for the graphs of longer periods.
CREATE TABLE monitor_series (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES monitor_services(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    uom TEXT NOT NULL DEFAULT '',
    warn TEXT,
    crit TEXT,
    min REAL,
    max REAL
);
CREATE UNIQUE INDEX monitor_series_label ON monitor_series (service_id, label);
CREATE TABLE monitor_samples (
    series_id INTEGER NOT NULL REFERENCES monitor_series(id) ON DELETE CASCADE,
    at_s INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (series_id, at_s)
) WITHOUT ROWID;
CREATE TABLE monitor_rollups (
    series_id INTEGER NOT NULL REFERENCES monitor_series(id) ON DELETE CASCADE,
    -- 300 (five minutes) or 3600 (one hour).
    step_s INTEGER NOT NULL,
    at_s INTEGER NOT NULL,
    avg REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (series_id, step_s, at_s)
) WITHOUT ROWID;
