-- Mobile phone hand-over receipts (issue 6, bordereau de remise): who received which device
-- (and SIM, line) from which technician, what came back, the accessories and the signed PDF.
-- The PDF itself is an immutable row of `documents` (kind 'handover_receipt'); its SHA-256 is
-- repeated here and in the audit trail. Asset references survive the asset's deletion as NULL:
-- the receipt keeps what was printed.
CREATE TABLE handovers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_id INTEGER NOT NULL REFERENCES entities(id),
    recipient_user_id INTEGER NOT NULL REFERENCES users(id),
    technician_user_id INTEGER REFERENCES users(id),
    department TEXT,
    location_id INTEGER REFERENCES locations(id) ON DELETE SET NULL,
    reason TEXT,
    delivered_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    delivered_sim_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    delivered_line_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    returned_asset_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    returned_sim_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    returned_line_id INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    accessories_delivered TEXT NOT NULL DEFAULT '',
    accessories_returned TEXT NOT NULL DEFAULT '',
    returned_reset INTEGER NOT NULL DEFAULT 0,
    document_id INTEGER REFERENCES documents(id),
    sha256 TEXT,
    created_by_user_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX handovers_entity ON handovers (entity_id, id);
CREATE INDEX handovers_delivered ON handovers (delivered_asset_id) WHERE delivered_asset_id IS NOT NULL;
CREATE INDEX handovers_returned ON handovers (returned_asset_id) WHERE returned_asset_id IS NOT NULL;
