-- audit_events: every node's audit records (internal/audit/pgsink), so that
-- LookupEvents on any node answers for all of them. record is the trail's
-- line as written (json keeps its text); the other columns are the lookup
-- attributes. Lookups are newest first by (event_time, id) within an
-- account, each attribute's index ending in that order.
CREATE TABLE audit_events (
    id             BIGSERIAL PRIMARY KEY,
    node           TEXT NOT NULL,
    event_time     TIMESTAMPTZ NOT NULL,
    account        TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    event_name     TEXT NOT NULL,
    event_source   TEXT NOT NULL,
    username       TEXT NOT NULL,
    access_key_id  TEXT NOT NULL,
    read_only      BOOLEAN NOT NULL,
    resource_types TEXT[] NOT NULL,
    resource_names TEXT[] NOT NULL,
    record         JSON NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (account, event_time DESC, id DESC);
CREATE INDEX audit_events_event_name ON audit_events (account, event_name, event_time DESC, id DESC);
CREATE INDEX audit_events_username ON audit_events (account, username, event_time DESC, id DESC);
CREATE INDEX audit_events_access_key_id ON audit_events (account, access_key_id, event_time DESC, id DESC);
CREATE INDEX audit_events_event_id ON audit_events (account, event_id);
CREATE INDEX audit_events_event_source ON audit_events (account, event_source, event_time DESC, id DESC);
CREATE INDEX audit_events_read_only ON audit_events (account, read_only, event_time DESC, id DESC);
CREATE INDEX audit_events_resource_names ON audit_events USING GIN (resource_names);
CREATE INDEX audit_events_resource_types ON audit_events USING GIN (resource_types);
-- Retention deletes by time across accounts.
CREATE INDEX audit_events_retention ON audit_events (event_time);
