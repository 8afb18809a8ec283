-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as POSTGRES_USER.
-- One database per service: no service reads another's tables (docs/operations.md).
CREATE DATABASE identity;
CREATE DATABASE linking;
CREATE DATABASE content;
CREATE DATABASE audit;
CREATE DATABASE gateway;
