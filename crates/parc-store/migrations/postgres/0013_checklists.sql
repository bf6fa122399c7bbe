-- Checklists (issue 6): templates of ordered steps and their runs on assets. A run copies its
-- template's steps (or a built-in template's, in the language of whoever started it), so later
-- edits of the template never change a running checklist. A step's photo is an immutable
-- document (kind 'checklist_photo'). An asset is not handed over (status in_use) while a
-- mandatory step of one of its runs is open: the store checks it on every status change.
CREATE TABLE checklist_templates (
    id BIGSERIAL PRIMARY KEY,
    entity_id BIGINT NOT NULL REFERENCES entities(id) ON DELETE RESTRICT,
    name TEXT NOT NULL,
    asset_kind TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX checklist_templates_name ON checklist_templates (entity_id, name);

CREATE TABLE checklist_template_steps (
    id BIGSERIAL PRIMARY KEY,
    template_id BIGINT NOT NULL REFERENCES checklist_templates(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    label TEXT NOT NULL,
    mandatory BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    hint TEXT
);
CREATE INDEX checklist_template_steps_template ON checklist_template_steps (template_id, position);

CREATE TABLE checklist_runs (
    id BIGSERIAL PRIMARY KEY,
    asset_id BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    template_id BIGINT REFERENCES checklist_templates(id) ON DELETE SET NULL,
    builtin_key TEXT,
    name TEXT NOT NULL,
    started_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    started_by_label TEXT NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE INDEX checklist_runs_asset ON checklist_runs (asset_id, id);
CREATE INDEX checklist_runs_template ON checklist_runs (template_id) WHERE template_id IS NOT NULL;

CREATE TABLE checklist_run_steps (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES checklist_runs(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    label TEXT NOT NULL,
    mandatory BIGINT NOT NULL,
    evidence TEXT NOT NULL,
    hint TEXT,
    done BIGINT NOT NULL DEFAULT 0,
    value TEXT,
    photo_document_id BIGINT REFERENCES documents(id) ON DELETE RESTRICT,
    done_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    done_by_label TEXT,
    done_at TEXT
);
CREATE INDEX checklist_run_steps_run ON checklist_run_steps (run_id, position);
CREATE INDEX checklist_run_steps_photo ON checklist_run_steps (photo_document_id) WHERE photo_document_id IS NOT NULL;
