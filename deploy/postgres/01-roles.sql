-- One database and one role per service, each role with rights on its own database only; audit split into
-- an owner (migrations, `portal audit resign`), a writer (audit-web, audit-worker: can append to the chain,
-- never rewrite it) and a retention role (`portal audit retain`: removes old ranges, records that it did).
--
-- Run once by psql as a superuser: by the postgres image on an empty data volume (mounted under
-- /docker-entrypoint-initdb.d, POSTGRES_USER), or by hand / a Kubernetes Job against a managed server:
--   psql -v ON_ERROR_STOP=1 -h <host> -U postgres -d postgres -f deploy/postgres/01-roles.sql
-- Passwords come from the environment (PORTAL_PG_PASSWORD_<ROLE>, made by `portal keys`). The optional psql
-- variable `prefix` (-v prefix=t1_) is put before every database and role name (tests share one server).
--
-- The writer's limits on the chain tables are applied by audit's migrations (0007), which read the role names
-- recorded below as database settings (portal.audit_writer, portal.audit_retention): tables do not exist yet.

\set ON_ERROR_STOP on
\if :{?prefix}
\else
\set prefix ''
\endif

-- identity, linking, content, gateway (the access-event spool): the role owns its database. psql runs each
-- statement the query below writes (\gexec: every column of every row, in order).
\getenv pw_identity PORTAL_PG_PASSWORD_IDENTITY
\getenv pw_linking PORTAL_PG_PASSWORD_LINKING
\getenv pw_content PORTAL_PG_PASSWORD_CONTENT
\getenv pw_gateway PORTAL_PG_PASSWORD_GATEWAY
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', role, password),
       format('CREATE DATABASE %I OWNER %I', role, role),
       format('REVOKE ALL ON DATABASE %I FROM PUBLIC', role)
  FROM (VALUES (:'prefix' || 'identity', :'pw_identity'), (:'prefix' || 'linking', :'pw_linking'),
               (:'prefix' || 'content', :'pw_content'), (:'prefix' || 'gateway', :'pw_gateway'))
       AS service (role, password)
\gexec
\unset pw_identity
\unset pw_linking
\unset pw_content
\unset pw_gateway

-- audit: owner, writer, retention.
\set audit :prefix audit
\set writer :prefix audit_writer
\set retention :prefix audit_retention
\getenv password PORTAL_PG_PASSWORD_AUDIT
CREATE ROLE :"audit" LOGIN PASSWORD :'password';
\getenv password PORTAL_PG_PASSWORD_AUDIT_WRITER
CREATE ROLE :"writer" LOGIN PASSWORD :'password';
\getenv password PORTAL_PG_PASSWORD_AUDIT_RETENTION
CREATE ROLE :"retention" LOGIN PASSWORD :'password';
\unset password
CREATE DATABASE :"audit" OWNER :"audit";
REVOKE ALL ON DATABASE :"audit" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"audit" TO :"writer", :"retention";
ALTER DATABASE :"audit" SET portal.audit_writer = :'writer';
ALTER DATABASE :"audit" SET portal.audit_retention = :'retention';

\connect :"audit"
-- Tables the owner's migrations create: the writer reads and writes them (0007 then takes UPDATE and DELETE on
-- the chain tables away), the retention role reads them (0007 adds what retention writes).
ALTER DEFAULT PRIVILEGES FOR ROLE :"audit" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"writer";
ALTER DEFAULT PRIVILEGES FOR ROLE :"audit" IN SCHEMA public GRANT SELECT ON TABLES TO :"retention";
ALTER DEFAULT PRIVILEGES FOR ROLE :"audit" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"writer", :"retention";
GRANT USAGE ON SCHEMA public TO :"writer", :"retention";
