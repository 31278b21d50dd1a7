-- The ordering row lock is held until commit, and a synchronous commit holds it through the WAL
-- flush (an fsync). Committing asynchronously releases it as soon as the rows are written; the
-- messenger then waits for durability with a separate flush (`SELECT pg_current_xact_id()`, which
-- commits synchronously and so flushes the WAL up to and past this commit) before it answers.
-- Flushes from many groups share one fsync, and no answer is sent before its rows, and every row
-- its window shows, are on disk.
CREATE OR REPLACE FUNCTION "netlab_post_messages"(p_senders TEXT[], p_texts TEXT[])
RETURNS TABLE ("seq" BIGINT, "sender" TEXT, "text" TEXT, "sent_at" TIMESTAMPTZ, "user_count" BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_n    BIGINT := cardinality(p_senders);
    v_base BIGINT;
    v_at   TIMESTAMPTZ;
BEGIN
    IF v_n IS NULL OR v_n = 0 OR v_n <> cardinality(p_texts) THEN
        RAISE EXCEPTION 'netlab_post_messages: senders and texts must be non-empty arrays of one length';
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE "message_clock" AS c
       SET "last_seq" = c."last_seq" + v_n,
           "last_sent_at" = greatest(c."last_sent_at", date_trunc('milliseconds', clock_timestamp()))
     WHERE c."id" = 1
    RETURNING c."last_seq" - v_n, c."last_sent_at" INTO v_base, v_at;

    RETURN QUERY
    WITH input AS (
        SELECT t.sender, t.text, t.ord FROM unnest(p_senders, p_texts) WITH ORDINALITY AS t(sender, text, ord)
    ), per_sender AS (
        SELECT i.sender, count(*)::BIGINT AS n FROM input i GROUP BY i.sender
    ), bumped AS (
        INSERT INTO "sender_counters" AS sc ("sender", "count")
        SELECT ps.sender, ps.n FROM per_sender ps
        ON CONFLICT ("sender") DO UPDATE SET "count" = sc."count" + excluded."count"
        RETURNING sc."sender", sc."count"
    ), numbered AS (
        SELECT v_base + i.ord AS seq, i.sender, i.text, v_at AS sent_at,
               b.count - ps.n + row_number() OVER (PARTITION BY i.sender ORDER BY i.ord) AS user_count
          FROM input i JOIN bumped b ON b.sender = i.sender JOIN per_sender ps ON ps.sender = i.sender
    ), stored AS (
        INSERT INTO "messages" ("seq", "sender", "text", "sent_at", "user_count")
        SELECT n.seq, n.sender, n.text, n.sent_at, n.user_count FROM numbered n
        RETURNING "messages"."seq", "messages"."sender"::TEXT, "messages"."text"::TEXT, "messages"."sent_at", "messages"."user_count"
    )
    SELECT * FROM stored
    UNION ALL
    SELECT m."seq", m."sender"::TEXT, m."text"::TEXT, m."sent_at", m."user_count"
      FROM "messages" m
     WHERE m."seq" > v_base - 9 AND m."seq" <= v_base;
END
$$;
