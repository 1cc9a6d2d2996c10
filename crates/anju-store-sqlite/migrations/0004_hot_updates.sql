-- Anju schema 4. On PostgreSQL this migration sets page fill factors for the monthly
-- batch's row updates (storage parameters only). SQLite has no such setting: nothing to
-- do here. It exists so both backends number their migrations alike.
SELECT 1;
