-- Hotline quick entry (issue 4): what the caller suggestions look up, by index.
--
-- Phone numbers are compared by their digits, a French number written "+33 1 23 45 67 89",
-- "0033 1 23 45 67 89" or "01.23.45.67.89" all giving the key "0123456789" (the same rule as
-- `phone_key` in parc-store's helpdesk/suggest.rs): a generated column per number, indexed, so
-- a typed prefix is a range scan. Names and logins are matched by substring through a trigram
-- index, as assets and tickets already are.
-- PostgreSQL: the keys use the "C" collation, so a prefix range follows byte order.

ALTER TABLE users ADD COLUMN phone_key TEXT COLLATE "C" GENERATED ALWAYS AS (
    CASE WHEN substr(ltrim(phone), 1, 1) = '+' AND substr(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 1, 2) = '33' THEN '0' || substr(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 3)
         WHEN substr(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 1, 4) = '0033' THEN '0' || substr(replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 5)
         ELSE replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', '') END) STORED;
CREATE INDEX users_phone_key ON users (phone_key);

ALTER TABLE assets ADD COLUMN line_key TEXT COLLATE "C" GENERATED ALWAYS AS (
    CASE WHEN substr(ltrim(line_number), 1, 1) = '+' AND substr(replace(replace(replace(replace(replace(replace(replace(line_number, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 1, 2) = '33' THEN '0' || substr(replace(replace(replace(replace(replace(replace(replace(line_number, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 3)
         WHEN substr(replace(replace(replace(replace(replace(replace(replace(line_number, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 1, 4) = '0033' THEN '0' || substr(replace(replace(replace(replace(replace(replace(replace(line_number, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', ''), 5)
         ELSE replace(replace(replace(replace(replace(replace(replace(line_number, ' ', ''), '.', ''), '-', ''), '(', ''), ')', ''), '+', ''), '/', '') END) STORED;
CREATE INDEX assets_line_key ON assets (line_key);

CREATE INDEX users_name_trgm ON users USING gin ((lower(display_name || ' ' || login)) gin_trgm_ops);
