--liquibase formatted sql
--changeset a:1
SELECT 1;
-- tagDatabase: v1
--rollback empty
--changeset a:2
--comment: x
  --comment: body
--rollback
--rollback 
SELECT 2;
--tag v2
