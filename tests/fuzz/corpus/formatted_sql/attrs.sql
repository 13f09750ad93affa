--liquibase formatted sql
--changeset a:1 runInTransaction:false endDelimiter:GO
SELECT 1
GO
--rollback SELECT 0;
--changeset "b c":"2 x" contextFilter:"a and b"
--preconditions onFail:WARN
--precondition-sql-check expectedResult:'x y' SELECT 1
--validCheckSum: ANY
/* liquibase rollback
DROP TABLE t;
*/
SELECT ${schema};
--tag v1
