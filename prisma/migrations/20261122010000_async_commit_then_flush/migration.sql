-- The ordering row lock is held until commit, and a synchronous commit holds it through the WAL
-- flush (an fsync). Committing asynchronously releases it as soon as the rows are written; the
-- messenger then waits for durability with a separate flush (`SELECT pg_current_xact_id()`, which
-- commits synchronously and so flushes the WAL up to and past this commit) before it answers.
-- Flushes from many groups share one fsync, and no answer is sent before its rows, and every row
-- its window shows, are on disk.
--
-- The function is also reshaped into plain statements, with generic plans forced: planning the CTE
-- version for every call cost more than executing it.
CREATE OR REPLACE FUNCTION "netlab_post_messages"(p_senders TEXT[], p_texts TEXT[])
RETURNS TABLE ("seq" BIGINT, "sender" TEXT, "text" TEXT, "sent_at" TIMESTAMPTZ, "user_count" BIGINT)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    v_n      INT := cardinality(p_senders);
    v_base   BIGINT;
    v_at     TIMESTAMPTZ;
    v_counts BIGINT[];
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

    -- Each input's userCount: the sender's count before this group plus its rank within the group.
    WITH bumped AS (
        INSERT INTO "sender_counters" AS sc ("sender", "count")
        SELECT s, count(*) FROM unnest(p_senders) AS s GROUP BY s
        ON CONFLICT ("sender") DO UPDATE SET "count" = sc."count" + excluded."count"
        RETURNING sc."sender", sc."count"
    )
    SELECT array_agg(r.c ORDER BY r.ord) INTO v_counts
      FROM (SELECT i.ord, b.count - count(*) OVER (PARTITION BY i.s) + row_number() OVER (PARTITION BY i.s ORDER BY i.ord) AS c
              FROM unnest(p_senders) WITH ORDINALITY AS i(s, ord) JOIN bumped b ON b.sender = i.s) r;

    INSERT INTO "messages" ("seq", "sender", "text", "sent_at", "user_count")
    SELECT v_base + t.ord, t.s, t.t, v_at, t.c
      FROM unnest(p_senders, p_texts, v_counts) WITH ORDINALITY AS t(s, t, c, ord);

    RETURN QUERY
    SELECT m."seq", m."sender"::TEXT, m."text"::TEXT, m."sent_at", m."user_count"
      FROM "messages" m
     WHERE m."seq" > v_base - 9 AND m."seq" <= v_base + v_n;
END
$$;
