-- The peer's view of the demo data (bench/peer): what the gateway's standard catalog page
-- shows, as PostGraphile exposes it. Views rather than tables, so that PostGraphile answers
-- the same rows as the gateway's tenancy rule for a platform (resolvers/tenancy.py:
-- public_courses, an APPROVED course of an ACTIVE provider) and the same "with seats left"
-- schedules, with no plugin; smart tags give the views keys and relations.
-- Run by `python -m bench.peer` on its own database (prakerja_peer_bench) only.
CREATE SCHEMA IF NOT EXISTS peer;

CREATE OR REPLACE VIEW peer.providers AS
    SELECT id, code, name FROM public.partners WHERE type = 'TRAINING_PROVIDER';
COMMENT ON VIEW peer.providers IS E'@primaryKey id';

CREATE OR REPLACE VIEW peer.courses AS
    SELECT c.id, c.code, c.title, c.price, c.learning_method, c.category, c.provider_id
    FROM public.courses AS c
    JOIN public.partners AS p ON p.id = c.provider_id
    WHERE c.status = 'APPROVED' AND p.status = 'ACTIVE';
COMMENT ON VIEW peer.courses IS
    E'@primaryKey id\n@foreignKey (provider_id) references peer.providers (id)';

CREATE OR REPLACE VIEW peer.schedules AS
    SELECT id, code, course_id, starts_at, remaining FROM public.schedules WHERE remaining > 0;
COMMENT ON VIEW peer.schedules IS
    E'@primaryKey id\n@foreignKey (course_id) references peer.courses (id)';
