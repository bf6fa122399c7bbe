-- Stock (issue 6): stores of an entity on a site, a catalogue of consumables per entity, the
-- quantity on hand per store and item, and every movement that changed it. `stock_levels` is
-- written in the transaction of each movement, so `quantity` always equals the sum of the
-- level's `stock_movements.delta` (the store tests compare them on both backends); the CHECK
-- refuses a negative quantity even to a racing writer. `alerted` remembers that the reorder
-- e-mail for the current crossing below `reorder_level` was sent.
CREATE TABLE stock_stores (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    location_id INTEGER REFERENCES locations(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    manager_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    comment TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX stock_stores_name ON stock_stores (entity_id, name);
CREATE INDEX stock_stores_location ON stock_stores (location_id);

CREATE TABLE stock_items (
    id INTEGER PRIMARY KEY,
    entity_id INTEGER NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    reference TEXT,
    category TEXT,
    unit TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX stock_items_name ON stock_items (entity_id, name);

CREATE TABLE stock_levels (
    store_id INTEGER NOT NULL REFERENCES stock_stores(id) ON DELETE RESTRICT,
    item_id INTEGER NOT NULL REFERENCES stock_items(id) ON DELETE RESTRICT,
    quantity INTEGER NOT NULL DEFAULT 0 CHECK (quantity >= 0),
    reorder_level INTEGER CHECK (reorder_level >= 0),
    alerted INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (store_id, item_id)
);
CREATE INDEX stock_levels_item ON stock_levels (item_id);

CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('receive', 'issue', 'transfer', 'adjust')),
    store_id INTEGER NOT NULL REFERENCES stock_stores(id) ON DELETE RESTRICT,
    item_id INTEGER NOT NULL REFERENCES stock_items(id) ON DELETE RESTRICT,
    delta INTEGER NOT NULL,
    quantity_after INTEGER NOT NULL,
    other_store_id INTEGER REFERENCES stock_stores(id) ON DELETE RESTRICT,
    issued_to_user_id INTEGER REFERENCES users(id) ON DELETE RESTRICT,
    issued_to_ticket_id INTEGER REFERENCES tickets(id) ON DELETE RESTRICT,
    issued_to_location_id INTEGER REFERENCES locations(id) ON DELETE RESTRICT,
    reason TEXT,
    actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX stock_movements_level ON stock_movements (store_id, item_id, id);
CREATE INDEX stock_movements_item ON stock_movements (item_id);
CREATE INDEX stock_movements_other ON stock_movements (other_store_id) WHERE other_store_id IS NOT NULL;
