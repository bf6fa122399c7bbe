-- Foundation schema (PostgreSQL). The SQLite twin has the same name and the same shape.
-- Timestamps are UTC RFC 3339 text (lexicographic order = time order); flags are 0/1 integers.

CREATE TABLE entities (
    id BIGSERIAL PRIMARY KEY,
    parent_id BIGINT REFERENCES entities(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX entities_parent_name ON entities (COALESCE(parent_id, 0), name);

CREATE TABLE locations (
    id BIGSERIAL PRIMARY KEY,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    parent_id BIGINT REFERENCES locations(id) ON DELETE RESTRICT,
    kind TEXT NOT NULL CHECK (kind IN ('site', 'building', 'room')),
    name TEXT NOT NULL,
    address TEXT,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX locations_entity ON locations (entity_id, name);
CREATE INDEX locations_parent ON locations (parent_id);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    login TEXT NOT NULL,
    display_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    password_hash TEXT,
    language TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX users_login ON users (lower(login));
CREATE INDEX users_entity ON users (entity_id);
CREATE INDEX users_display_name ON users (lower(display_name));

CREATE TABLE user_grants (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    profile TEXT NOT NULL,
    recursive BIGINT NOT NULL DEFAULT 0,
    UNIQUE (user_id, entity_id, profile)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_at TEXT NOT NULL,
    blocked_until TEXT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE assets (
    id BIGSERIAL PRIMARY KEY,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    asset_tag TEXT,
    serial TEXT,
    manufacturer TEXT,
    model TEXT,
    status TEXT NOT NULL,
    location_id BIGINT REFERENCES locations(id) ON DELETE SET NULL,
    assigned_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    purchase_date TEXT,
    warranty_end TEXT,
    supplier TEXT,
    comment TEXT,
    imei TEXT,
    iccid TEXT,
    puk_enc TEXT,
    line_number TEXT,
    line_type TEXT,
    ip TEXT,
    mac TEXT,
    public_token TEXT NOT NULL UNIQUE,
    search_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX assets_entity_tag ON assets (entity_id, asset_tag);
CREATE INDEX assets_entity_name ON assets (entity_id, name, id);
CREATE INDEX assets_name ON assets (name, id);
CREATE INDEX assets_tag ON assets (asset_tag);
CREATE INDEX assets_serial ON assets (serial);
CREATE INDEX assets_ip ON assets (ip);
CREATE INDEX assets_mac ON assets (mac);
CREATE INDEX assets_kind_status ON assets (kind, status, name);
CREATE INDEX assets_entity_kind_status ON assets (entity_id, kind, status);
CREATE INDEX assets_location ON assets (location_id);
CREATE INDEX assets_user ON assets (assigned_user_id);
CREATE INDEX assets_updated ON assets (updated_at, id);

-- Substring search over tag, serial, name, IP, MAC, IMEI, model and user (trigram index).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX assets_search_trgm ON assets USING gin (search_text gin_trgm_ops);

CREATE TABLE asset_links (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    from_asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    to_asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    UNIQUE (from_asset_id, kind)
);
CREATE INDEX asset_links_to ON asset_links (to_asset_id);

-- The audit trail is append-only: triggers refuse every UPDATE and DELETE.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor_user_id BIGINT,
    actor_label TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    entity_id BIGINT,
    action TEXT NOT NULL,
    changes TEXT NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_object ON audit_events (object_type, object_id, id);
CREATE INDEX audit_at ON audit_events (at);
CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
