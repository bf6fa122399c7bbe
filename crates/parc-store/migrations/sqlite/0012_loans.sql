-- Loans and reservations (issue 6): the pool of loanable assets, reservations per asset, and
-- loans (check-out to a borrower with a signed sheet, check-in with condition notes).
--
-- The pool is its own table rather than a column of `assets`: being lent is what the loans
-- desk decides about an asset, not one of its registry fields, and keeping it apart leaves the
-- asset row, its form, import and export untouched.
CREATE TABLE loan_items (
    asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);

-- A reservation holds an asset over [starts_at, ends_at) (UTC RFC 3339, text order is time
-- order). The overlap rule (parc-core `loans::conflicts`) is applied by the store in the
-- transaction of the insert, after locking the asset's pool row.
CREATE TABLE loan_reservations (
    id INTEGER PRIMARY KEY,
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    borrower_user_id INTEGER NOT NULL REFERENCES users(id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    note TEXT,
    created_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
-- An asset's calendar and the overlap check: reservations not over yet, by end.
CREATE INDEX loan_reservations_asset ON loan_reservations (asset_id, ends_at);
CREATE INDEX loan_reservations_borrower ON loan_reservations (borrower_user_id, ends_at);

-- A loan is open while checked_in_at is NULL. All the loans of one check-out share its signed
-- sheet (`document_id`), so a bulk check-out is one signature, one document, one e-mail.
-- `reminded_on` is the Paris date of the last overdue reminder: the watcher sets it by a
-- conditional UPDATE, so several nodes never send two reminders for one loan on one day.
CREATE TABLE loans (
    id INTEGER PRIMARY KEY,
    asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    borrower_user_id INTEGER NOT NULL REFERENCES users(id),
    checked_out_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    checked_out_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    document_id INTEGER REFERENCES documents(id),
    note TEXT,
    checked_in_at TEXT,
    checked_in_by_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    condition_notes TEXT,
    reminded_on TEXT
);
-- At most one open loan per asset, whatever two requests do at the same time.
CREATE UNIQUE INDEX loans_open_asset ON loans (asset_id) WHERE checked_in_at IS NULL;
-- The overdue watcher and the "who has what" list walk only the open loans, by due time.
CREATE INDEX loans_open_due ON loans (due_at, id) WHERE checked_in_at IS NULL;
CREATE INDEX loans_asset ON loans (asset_id, checked_out_at);
CREATE INDEX loans_borrower ON loans (borrower_user_id, checked_out_at);
