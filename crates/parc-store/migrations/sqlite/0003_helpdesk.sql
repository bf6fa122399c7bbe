-- Helpdesk (issue 4): technician groups, ticket categories, tickets with their follow-ups,
-- tasks (time spent, planning, on-site interventions), signed documents, per-entity helpdesk
-- settings (business calendar, anonymous reporting), the job queue and notification opt-outs.
-- The priority matrix and SLA targets live in `settings` under keys starting with "helpdesk.".

CREATE TABLE user_groups (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX user_groups_entity_name ON user_groups (entity_id, lower(name));
CREATE TABLE user_group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_group_members_user ON user_group_members (user_id);

-- A tree per entity ("Téléphonie > Poste fixe"); visible in the sub-entities too.
CREATE TABLE ticket_categories (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    parent_id INTEGER REFERENCES ticket_categories(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX ticket_categories_name ON ticket_categories (entity_id, COALESCE(parent_id, 0), lower(name));

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    kind TEXT NOT NULL CHECK (kind IN ('incident', 'request')),
    status TEXT NOT NULL CHECK (status IN ('new', 'assigned', 'planned', 'pending', 'solved', 'closed')),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The requester is a user, or a free name and phone (a caller without an account).
    requester_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    requester_name TEXT,
    requester_phone TEXT,
    on_behalf_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    category_id INTEGER REFERENCES ticket_categories(id) ON DELETE SET NULL,
    location_id INTEGER REFERENCES locations(id) ON DELETE SET NULL,
    urgency INTEGER NOT NULL CHECK (urgency BETWEEN 1 AND 5),
    impact INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 6),
    assignee_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    assignee_group_id INTEGER REFERENCES user_groups(id) ON DELETE SET NULL,
    created_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_by_label TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'web',
    solution TEXT,
    solved_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    satisfaction INTEGER CHECK (satisfaction BETWEEN 1 AND 5),
    satisfaction_comment TEXT,
    -- SLA: due dates computed in business time by parc-core and kept here so lists filter in SQL.
    own_due_at TEXT,
    own_warn_at TEXT,
    resolve_due_at TEXT,
    resolve_warn_at TEXT,
    pending_since TEXT,
    paused_seconds INTEGER NOT NULL DEFAULT 0,
    sla_notified TEXT NOT NULL DEFAULT '',
    owned_at TEXT,
    solved_at TEXT,
    closed_at TEXT,
    search_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tickets_entity_status ON tickets (entity_id, status, priority);
CREATE INDEX tickets_status_priority ON tickets (status, priority, id);
CREATE INDEX tickets_assignee ON tickets (assignee_user_id, status, priority);
CREATE INDEX tickets_group ON tickets (assignee_group_id, status);
CREATE INDEX tickets_requester ON tickets (requester_user_id, id);
CREATE INDEX tickets_on_behalf ON tickets (on_behalf_user_id);
CREATE INDEX tickets_resolve_due ON tickets (resolve_due_at);
CREATE INDEX tickets_own_due ON tickets (own_due_at);
CREATE INDEX tickets_updated ON tickets (updated_at, id);
CREATE INDEX tickets_category ON tickets (category_id);

CREATE VIRTUAL TABLE tickets_fts USING fts5(search_text, content='tickets', content_rowid='id', tokenize='trigram');
CREATE TRIGGER tickets_fts_ai AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER tickets_fts_ad AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER tickets_fts_au AFTER UPDATE OF search_text ON tickets BEGIN
    INSERT INTO tickets_fts(tickets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO tickets_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TABLE ticket_assets (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, asset_id)
);
CREATE INDEX ticket_assets_asset ON ticket_assets (asset_id);

CREATE TABLE ticket_observers (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_observers_user ON ticket_observers (user_id);

CREATE TABLE ticket_followups (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    author_label TEXT NOT NULL,
    is_private INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ticket_followups_ticket ON ticket_followups (ticket_id, id);

-- Work on a ticket: time spent, an appointment in a technician's planning, an on-site visit.
CREATE TABLE ticket_tasks (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    technician_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    description TEXT NOT NULL,
    is_private INTEGER NOT NULL DEFAULT 0,
    on_site INTEGER NOT NULL DEFAULT 0,
    hardware_needed TEXT,
    duration_minutes INTEGER NOT NULL DEFAULT 0 CHECK (duration_minutes >= 0),
    planned_start TEXT,
    planned_end TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    done_at TEXT,
    report TEXT,
    signer_name TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ticket_tasks_ticket ON ticket_tasks (ticket_id, id);
CREATE INDEX ticket_tasks_planning ON ticket_tasks (technician_user_id, planned_start);
CREATE INDEX ticket_tasks_done ON ticket_tasks (done_at);

-- Signed documents (intervention sheets): written once, never changed.
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id) ON DELETE RESTRICT,
    task_id INTEGER REFERENCES ticket_tasks(id) ON DELETE RESTRICT,
    kind TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_by_user_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX documents_ticket ON documents (ticket_id, id);
CREATE UNIQUE INDEX documents_task_kind ON documents (task_id, kind);
CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents BEGIN
    SELECT RAISE(ABORT, 'signed documents are immutable');
END;
CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents BEGIN
    SELECT RAISE(ABORT, 'signed documents are immutable');
END;

-- Per entity: the business calendar of its SLA clocks and whether anonymous reports are taken.
-- An entity without a row inherits from its parent.
CREATE TABLE helpdesk_entity_settings (
    entity_id INTEGER PRIMARY KEY REFERENCES entities(id) ON DELETE CASCADE,
    calendar TEXT,
    anonymous_reports INTEGER,
    updated_at TEXT NOT NULL
);

-- A technician's private iCal feed: the URL carries a random token, stored hashed.
CREATE TABLE calendar_feeds (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Notifications a user does not want, by event kind.
CREATE TABLE notification_optouts (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    PRIMARY KEY (user_id, event)
);

-- The job queue: work done after the request's commit (e-mail), retried with back-off.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    run_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    locked_by TEXT,
    locked_until TEXT,
    last_error TEXT,
    done_at TEXT,
    failed_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs (done_at, failed_at, run_at);
