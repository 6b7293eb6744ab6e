-- Run once by the postgres image's entrypoint, when the data directory is
-- first initialised, connected as the superuser to POSTGRES_DB. Creates the
-- service's own login role (APP_USER, password from the file named by
-- APP_PASSWORD_FILE) and makes it the database's owner, so the service runs
-- as a non-superuser that may still create the trusted extension pg_trgm.
-- Nothing here is secret: the password is read from the mounted Secret.
\getenv app_user APP_USER
\set app_password `cat "$APP_PASSWORD_FILE"`
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
-- Since PostgreSQL 15 the public schema belongs to the database owner.
ALTER DATABASE :"DBNAME" OWNER TO :"app_user";
REVOKE ALL ON DATABASE :"DBNAME" FROM PUBLIC;
