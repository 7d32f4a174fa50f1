\echo
\echo '== 1. Define entities, feature groups and a feature service (DO LANGUAGE featstore)'
\echo
CREATE EXTENSION IF NOT EXISTS featstore;

SELECT statement, command, object_name, detail FROM featstore.exec($$
	CREATE ENTITY user (user_id text)
		DESCRIPTION 'A card holder' OWNER 'fraud-team';
	CREATE ENTITY merchant (merchant_id bigint)
		DESCRIPTION 'A card acceptor' OWNER 'payments';

	CREATE FEATURE GROUP user_transaction_features
		ENTITY user
		FEATURES (
			tx_count_1h         bigint            'Transaction count in last 1 hour',
			tx_count_24h        bigint            'Transaction count in last 24 hours',
			tx_amount_sum_1h    double precision  'Sum of transaction amounts, 1h window',
			tx_amount_avg_30d   double precision  'Average transaction amount, 30d window',
			tx_amount_std_30d   double precision  'Std deviation of amounts, 30d window',
			unique_merchants_7d bigint            'Unique merchants in last 7 days',
			max_single_tx_24h   double precision  'Largest single transaction, 24h',
			is_new_device       bigint            '1 if device not seen in last 90 days'
		)
		TTL '24 hours' ONLINE
		TAGS ('fraud', 'transactions') OWNER 'fraud-team'
		DESCRIPTION 'Rolling transaction statistics per user for fraud scoring';

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
