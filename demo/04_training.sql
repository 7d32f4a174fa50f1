\echo
\echo '== 4. A point-in-time training set for the fraud labels (pit_join)'
\echo
-- One row per label: the label's columns, then the model's features as they
-- were at the label's timestamp.  create_pit_view makes a typed view (for BI
-- tools and drivers) whose row type is also pit_join's result type.
SELECT featstore.create_pit_view('fraud_training_v3', 'fraud_labels', service => 'fraud_model_v3');
SELECT user_id, event_timestamp, is_fraud, tx_count_24h, tx_amount_avg_30d, chargeback_rate_90d
  FROM featstore.pit_join(NULL::fraud_training_v3, 'fraud_labels', service => 'fraud_model_v3')
 WHERE user_id = 'u0001' ORDER BY event_timestamp LIMIT 5;

\echo '-- the plan: one Custom Scan (PitJoin) per group, its strategy chosen by cost'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT * FROM fraud_training_v3;

\echo '-- reproducible: the set as known on 2026-10-21 does not see the two late payments ingested on 2026-10-22'
SELECT count(*) AS labels_before_oct_21,
	   count(*) FILTER (WHERE a.tx_count_24h IS DISTINCT FROM b.tx_count_24h) AS changed_by_the_late_payments
  FROM featstore.pit_join(NULL::fraud_training_v3, 'fraud_labels', service => 'fraud_model_v3') a
  JOIN featstore.pit_join(NULL::fraud_training_v3, 'fraud_labels', service => 'fraud_model_v3',
						  as_of => '2026-10-21') b
	USING (user_id, event_timestamp, merchant_id, amount)
 WHERE a.event_timestamp < '2026-10-20 23:00';

\echo '-- a naive join on the latest value per user leaks the future into training:'
SELECT count(*) AS labels,
	   count(*) FILTER (WHERE latest.event_timestamp > l.event_timestamp) AS labels_given_future_values
  FROM fraud_labels l
  JOIN (SELECT DISTINCT ON (user_id) user_id, event_timestamp
		  FROM user_transaction_features ORDER BY user_id, event_timestamp DESC) latest USING (user_id);
