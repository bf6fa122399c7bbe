-- Agent inventory (issue 3): what agents report about a computer, the shared software
-- catalogue, the import log and the entity assignment rules. Matching and entity settings
-- live in `settings` under keys starting with "inventory.".

-- Matching by name within an entity, without case.
CREATE INDEX assets_entity_lower_name ON assets (entity_id, lower(name));

-- One row per asset fed by an agent; hand-kept fields stay on `assets`.
CREATE TABLE inventory_computers (
    asset_id BIGINT PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL,
    uuid TEXT,
    domain TEXT,
    os_name TEXT,
    os_version TEXT,
    os_arch TEXT,
    bios_version TEXT,
    bios_date TEXT,
    memory_mb BIGINT,
    logged_user TEXT,
    agent TEXT,
    agent_version TEXT,
    tag TEXT,
    source_ip TEXT,
    matched_rule TEXT NOT NULL,
    -- cpus, memory modules, disks, volumes, printers: shown, never queried (JSON).
    details TEXT NOT NULL,
    -- [[version_id, name, publisher, version, install_date], ...]: the installed software as last
    -- stored, so a re-inventory diffs without reading software_installs back.
    software TEXT NOT NULL DEFAULT '[]',
    content_hash TEXT NOT NULL,
    first_inventory_at TEXT NOT NULL,
    last_inventory_at TEXT NOT NULL,
    last_contact_at TEXT NOT NULL
);
CREATE INDEX inventory_computers_device ON inventory_computers (device_id);
CREATE INDEX inventory_computers_uuid ON inventory_computers (uuid);
CREATE INDEX inventory_computers_contact ON inventory_computers (last_contact_at);

CREATE TABLE inventory_networks (
    id BIGSERIAL PRIMARY KEY,
    asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    description TEXT,
    mac TEXT,
    ips TEXT NOT NULL DEFAULT '',
    mask TEXT,
    subnet TEXT,
    vlan BIGINT,
    is_virtual BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX inventory_networks_asset ON inventory_networks (asset_id);
CREATE INDEX inventory_networks_mac ON inventory_networks (mac);

-- The shared catalogue: a product (name + publisher), its versions, and who has which.
CREATE TABLE software (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    publisher TEXT NOT NULL DEFAULT '',
    UNIQUE (name, publisher)
);
CREATE INDEX software_name ON software (lower(name));
CREATE TABLE software_versions (
    id BIGSERIAL PRIMARY KEY,
    software_id BIGINT NOT NULL REFERENCES software(id) ON DELETE CASCADE,
    version TEXT NOT NULL DEFAULT '',
    UNIQUE (software_id, version)
);
CREATE TABLE software_installs (
    asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES software_versions(id) ON DELETE CASCADE,
    install_date TEXT,
    PRIMARY KEY (asset_id, version_id)
);
-- No index on version_id: each inventory would scatter its ~200 rows over ~200 pages of it, the
-- cost that dominates a first inventory; the catalogue pages scan installations instead.

-- Every request an agent made that carried an inventory, accepted or not.
CREATE TABLE inventory_imports (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    source_ip TEXT,
    device_id TEXT,
    name TEXT,
    agent TEXT,
    outcome TEXT NOT NULL,
    asset_id BIGINT REFERENCES assets(id) ON DELETE SET NULL,
    entity_id BIGINT REFERENCES entities(id) ON DELETE SET NULL,
    matched_rule TEXT,
    entity_rule TEXT,
    error TEXT
);
CREATE INDEX inventory_imports_at ON inventory_imports (at);
CREATE INDEX inventory_imports_outcome ON inventory_imports (outcome, id);
CREATE INDEX inventory_imports_asset ON inventory_imports (asset_id, id);

-- Which entity a new machine goes to: first rule that matches, by position.
CREATE TABLE inventory_entity_rules (
    id BIGSERIAL PRIMARY KEY,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    pattern TEXT NOT NULL,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE INDEX inventory_entity_rules_position ON inventory_entity_rules (position, id);
