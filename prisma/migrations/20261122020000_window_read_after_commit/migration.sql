-- The ordering row lock (message_clock) is held until commit, so whatever the posting transaction
-- does after taking it makes every other group wait. On a busy machine a backend can be preempted
-- while it holds the lock, and then all replicas wait for it (with 4 replicas on 2 cores the group
-- writes took 8 ms each). Reading the callers' windows is moved out of that transaction:
--
-- * netlab_append_messages numbers and stores a group, commits asynchronously, and returns the
--   seq just before the group.
-- * netlab_flushed_window, the next statement, commits synchronously (so the WAL is flushed past
--   the group) and returns the rows of the group's windows. Every seq up to the group's last was
--   committed before the group took the lock, so the window read after commit is the same one,
--   gap-free, and never holds a message stored after the caller's own (its upper bound).
--
-- netlab_post_messages stays, unused, for replicas of the previous version during an upgrade.
CREATE FUNCTION "netlab_append_messages"(p_senders TEXT[], p_texts TEXT[])
RETURNS BIGINT
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_n      INT := cardinality(p_senders);
    v_base   BIGINT;
    v_at     TIMESTAMPTZ;
    v_counts BIGINT[];
BEGIN
    IF v_n IS NULL OR v_n = 0 OR v_n <> cardinality(p_texts) THEN
        RAISE EXCEPTION 'netlab_append_messages: senders and texts must be non-empty arrays of one length';
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
    RETURN v_base;
END
$$;

CREATE FUNCTION "netlab_flushed_window"(p_base BIGINT, p_n INT)
RETURNS TABLE ("seq" BIGINT, "sender" TEXT, "text" TEXT, "sent_at" TIMESTAMPTZ, "user_count" BIGINT)
LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- Taking a transaction id makes this transaction's commit a synchronous one, with a WAL flush.
    PERFORM pg_current_xact_id();
    RETURN QUERY
    SELECT m."seq", m."sender"::TEXT, m."text"::TEXT, m."sent_at", m."user_count"
      FROM "messages" m
     WHERE m."seq" > p_base - 9 AND m."seq" <= p_base + p_n;
END
$$;
