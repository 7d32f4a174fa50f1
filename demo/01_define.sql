\echo
\echo '== 1. Define entities, feature groups and a feature service (DO LANGUAGE featstore)'
\echo
CREATE EXTENSION IF NOT EXISTS featstore;

-- The raw events the features are computed from: card transactions, as the
-- payment system writes them.  ingested_at is when each row reached the
-- database, which as_of and strict training sets look at.
CREATE TABLE transactions (
	tx_id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id		text NOT NULL,
	merchant_id	bigint NOT NULL,
	amount		double precision NOT NULL,
	status		text NOT NULL DEFAULT 'approved',
	ts			timestamptz NOT NULL,
	ingested_at	timestamptz NOT NULL DEFAULT now()
);

SELECT statement, command, object_name, detail FROM featstore.exec($$
	CREATE ENTITY user (user_id text)
		DESCRIPTION 'A card holder' OWNER 'fraud-team';
	CREATE ENTITY merchant (merchant_id bigint)
		DESCRIPTION 'A card acceptor' OWNER 'payments';

	-- Defined once, computed by featstore: the training join computes these at
	-- each label's time, and the worker keeps Redis holding them at now().
	CREATE FEATURE GROUP user_transaction_features
		ENTITY user
		FROM transactions TIMESTAMP ts CREATED ingested_at
		WHERE status <> 'declined'
		-- a label's own payment is in transactions too: it must not count
		-- toward the features the model scores it with
		WINDOW END EXCLUSIVE
		FEATURES (
			tx_count_1h         bigint            AS count(*)                    OVER '1 hour'   'Transaction count in last 1 hour',
			tx_count_24h        bigint            AS count(*)                    OVER '24 hours' 'Transaction count in last 24 hours',
			tx_amount_sum_1h    double precision  AS sum(amount)                 OVER '1 hour'   DEFAULT 0 'Sum of transaction amounts, 1h window',
			tx_amount_avg_30d   double precision  AS avg(amount)                 OVER '30 days'  'Average transaction amount, 30d window',
			tx_amount_std_30d   double precision  AS stddev_samp(amount)         OVER '30 days'  'Std deviation of amounts, 30d window',
			unique_merchants_7d bigint            AS count(DISTINCT merchant_id) OVER '7 days'   'Unique merchants in last 7 days',
			max_single_tx_24h   double precision  AS max(amount)                 OVER '24 hours' DEFAULT 0 'Largest single transaction, 24h',
			last_merchant       bigint            AS last(merchant_id)                           'Merchant of the latest transaction',
			avg_ticket_1h       double precision  AS tx_amount_sum_1h / nullif(tx_count_1h, 0)  'Average ticket in the last hour'
		)
		ONLINE
		TAGS ('fraud', 'transactions') OWNER 'fraud-team'
		DESCRIPTION 'Rolling transaction statistics per user for fraud scoring';

	-- A short window, to watch a value fall back as time passes
	CREATE FEATURE GROUP user_live_activity
		ENTITY user
		FROM transactions TIMESTAMP ts CREATED ingested_at
		FEATURES (tx_count_10s bigint AS count(*) OVER '10 seconds' 'Transactions in the last 10 seconds')
		ONLINE OWNER 'fraud-team';

	CREATE FEATURE GROUP merchant_features
		ENTITY merchant
		FEATURES (
			chargeback_rate_90d double precision 'Chargebacks per sale, 90 days',
			tx_count_7d         bigint           'Sales in the last 7 days'
		)
		TTL '7 days' ONLINE TAGS ('fraud', 'merchant') OWNER 'payments';

	CREATE FEATURE SERVICE fraud_model_v3
		FEATURES (user_transaction_features.*, merchant_features.chargeback_rate_90d)
		DESCRIPTION 'Card fraud model, version 3' OWNER 'fraud-team';
$$);

\echo
\echo '-- a deliberate mistake: a group of an entity that was never defined.  The ERROR below is'
\echo '-- expected: it points at the word, says what to type, and nothing is half-created.'
\set ON_ERROR_STOP 0
DO LANGUAGE featstore $$
	CREATE FEATURE GROUP device_features ENTITY device FEATURES (first_seen timestamptz)
$$;
\set ON_ERROR_STOP 1
SELECT count(*) AS device_groups FROM featstore.feature_groups WHERE name = 'device_features';
