SELECT 'a''b;DROP TABLE x'; /* /* nested */ DELETE FROM t */ UPDATE t SET a = 1;
