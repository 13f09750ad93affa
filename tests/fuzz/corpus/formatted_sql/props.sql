--liquibase formatted sql
--property name:t value:x
--ignoreLines:start
nothing
--ignoreLines:end
--changeset a:${t}
SELECT 1;
--ignoreLines:1
skipped
--rollback empty
