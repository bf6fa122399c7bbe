-- Campaigns with scan-to-reconcile (issue 6): an expected list of items, the codes technicians
-- scan, and the signed reconciliation report.
CREATE TABLE campaigns (
    id BIGSERIAL PRIMARY KEY,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    -- The scope, e.g. one school's site: shown on the report, used by asset-filter lists.
    location_id BIGINT REFERENCES locations(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    closed_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    signer_name TEXT,
    found_status TEXT,
    document_id BIGINT REFERENCES documents(id) ON DELETE RESTRICT
);
CREATE INDEX campaigns_entity ON campaigns (entity_id, status, id);

-- Expected items (expected = 1) and unexpected codes scanned (expected = 0). An item is found
-- once: the scan that sets found_at where it was NULL; later scans are duplicates.
CREATE TABLE campaign_items (
    id BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    expected BIGINT NOT NULL,
    asset_id BIGINT REFERENCES assets(id) ON DELETE SET NULL,
    label TEXT NOT NULL,
    asset_tag TEXT,
    serial TEXT,
    imei TEXT,
    found_at TEXT,
    found_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    found_code TEXT,
    step_done_at TEXT,
    step_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    -- PC replacement: the new machine that replaces this (old) one.
    replacement_asset_id BIGINT REFERENCES assets(id) ON DELETE SET NULL
);
CREATE INDEX campaign_items_tally ON campaign_items (campaign_id, expected, found_at, step_done_at);
CREATE INDEX campaign_items_asset ON campaign_items (asset_id);

-- Every key an item answers to (tag, serial, IMEI, name, QR token), normalized; a key two
-- expected items share is left out. The primary key makes an unexpected code count once even
-- when two scanners send it at the same moment.
CREATE TABLE campaign_keys (
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    item_id BIGINT NOT NULL REFERENCES campaign_items(id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, key)
);
CREATE INDEX campaign_keys_item ON campaign_keys (item_id);

-- Every scan, kept for the report ("who scanned what and when") and the live view.
CREATE TABLE campaign_scans (
    id BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    item_id BIGINT REFERENCES campaign_items(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    outcome TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    at TEXT NOT NULL
);
CREATE INDEX campaign_scans_campaign ON campaign_scans (campaign_id, id);
CREATE INDEX campaign_scans_outcome ON campaign_scans (campaign_id, outcome);

-- Unexpected scans and the hotline look an IMEI up exactly.
CREATE INDEX assets_imei ON assets (imei);
