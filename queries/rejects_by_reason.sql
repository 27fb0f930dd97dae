-- Rejected input per table and reason (first 120 characters): how many rows, from how many sources, first and last receive time.
SELECT
    "table",
    left(reason, 120) AS reason,
    count(*) AS rows,
    count(DISTINCT source) AS sources,
    min(recv_ts) AS first_recv_ts,
    max(recv_ts) AS last_recv_ts
FROM rejects
GROUP BY ALL
ORDER BY rows DESC, "table", reason
