-- The messenger's schema. Applied by `netlab messenger` at start under an advisory lock.
-- Order and counters are enforced here, by constraints and a row lock, never by process memory.

CREATE TABLE "messages" (
    "seq"        BIGINT         NOT NULL CHECK ("seq" >= 1),
    "sender"     VARCHAR(64)    NOT NULL CHECK ("sender" <> ''),
    "text"       VARCHAR(4096)  NOT NULL CHECK ("text" <> ''),
    "sent_at"    TIMESTAMPTZ(3) NOT NULL,
    "user_count" BIGINT         NOT NULL CHECK ("user_count" >= 1),
    CONSTRAINT "messages_pkey" PRIMARY KEY ("seq"),
    CONSTRAINT "messages_sender_user_count_key" UNIQUE ("sender", "user_count")
);

CREATE TABLE "sender_counters" (
    "sender" VARCHAR(64) NOT NULL,
    "count"  BIGINT      NOT NULL CHECK ("count" >= 1),
    CONSTRAINT "sender_counters_pkey" PRIMARY KEY ("sender")
);

-- One row: the last seq handed out and the last sentAt. Every writer locks it first, so writers
-- are serialized across all replicas and seq/sentAt advance together.
CREATE TABLE "message_clock" (
    "id"           SMALLINT       NOT NULL CHECK ("id" = 1),
    "last_seq"     BIGINT         NOT NULL CHECK ("last_seq" >= 0),
    "last_sent_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "message_clock_pkey" PRIMARY KEY ("id")
);
INSERT INTO "message_clock" ("id", "last_seq", "last_sent_at") VALUES (1, 0, '-infinity');

-- Stores a group of messages in one call (one round trip, one short lock hold) and returns the new
-- rows plus the 9 rows before them, from which each caller's window of 10 is cut.
-- Each statement of a VOLATILE plpgsql function takes a fresh snapshot, so the window read after
-- the lock sees every row committed before it: no gap is possible.
CREATE FUNCTION "netlab_post_messages"(p_senders TEXT[], p_texts TEXT[])
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
