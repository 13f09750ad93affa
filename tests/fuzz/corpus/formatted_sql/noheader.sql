--changeset a:1
SELECT 1;
