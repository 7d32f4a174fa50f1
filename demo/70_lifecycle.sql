\echo
\echo '== 7. A training set as an object, and backfills that cannot break it (issue 12)'
\echo
-- The fraud model's training set, frozen: the service's features as they are
-- now, the labels copied, AS OF the creation time.  Its rows never change.
DO LANGUAGE featstore $$
	CREATE TRAINING SET fraud_train_2026_11 FOR SERVICE fraud_model_v3 FROM fraud_labels
		DESCRIPTION 'Labels of October, for fraud_model_v3' TAGS ('model:fraud_v3')
$$;
SELECT name, service_name, row_count, strict, tags FROM featstore.training_sets;
SELECT qualified_name, services, training_sets FROM featstore.catalog
 WHERE qualified_name LIKE 'merchant_features.%' ORDER BY qualified_name;

\echo '-- a bad backfill of merchant_features: its job silently dropped 15% of the merchants'
DO LANGUAGE featstore $$
	BACKFILL FEATURE GROUP merchant_features AS chargebacks_fix_bad FROM '2026-10-10' TO '2026-10-20'
$$;
INSERT INTO merchant_features__bf_chargebacks_fix_bad
	(merchant_id, event_timestamp, chargeback_rate_90d, tx_count_7d)
SELECT merchant_id, event_timestamp, round(chargeback_rate_90d::numeric, 3)::double precision, tx_count_7d
  FROM merchant_features
 WHERE event_timestamp >= '2026-10-10' AND event_timestamp < '2026-10-20'
   AND merchant_id % 20 >= 3;
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL chargebacks_fix_bad $$);
\echo '-- why it failed:'
SELECT check_name, feature, current_value, shadow_value, threshold, verdict
  FROM featstore.validate_backfill('chargebacks_fix_bad') WHERE verdict IN ('fail', 'error');
\echo '-- PROMOTE is refused (the ERROR below is expected): the history the model reads is untouched'
\set ON_ERROR_STOP 0
DO LANGUAGE featstore $$ PROMOTE BACKFILL chargebacks_fix_bad $$;
\set ON_ERROR_STOP 1
DO LANGUAGE featstore $$ ABORT BACKFILL chargebacks_fix_bad $$;

\echo '-- a good backfill: every merchant, the rate recomputed at three decimals'
DO LANGUAGE featstore $$
	BACKFILL FEATURE GROUP merchant_features AS chargebacks_fix FROM '2026-10-10' TO '2026-10-20'
$$;
INSERT INTO merchant_features__bf_chargebacks_fix
	(merchant_id, event_timestamp, chargeback_rate_90d, tx_count_7d)
SELECT merchant_id, event_timestamp, round(chargeback_rate_90d::numeric, 3)::double precision, tx_count_7d
  FROM merchant_features
 WHERE event_timestamp >= '2026-10-10' AND event_timestamp < '2026-10-20';
SELECT * FROM featstore.exec($$ VALIDATE BACKFILL chargebacks_fix; PROMOTE BACKFILL chargebacks_fix $$);
SELECT name, state, verdict, promoted_rows, forced FROM featstore.backfills ORDER BY name;

\echo '-- the training set made before the promote is reproduced exactly after it (checksums),'
\echo '-- while a join made now sees the corrected rates'
SELECT unchanged FROM featstore.verify_training_set('fraud_train_2026_11');
SELECT (SELECT count(*) FROM fraud_train_2026_11) AS labels,
	   (SELECT round(sum(chargeback_rate_90d)::numeric, 4) FROM fraud_train_2026_11) AS rate_sum_in_the_set,
	   (SELECT round(sum(chargeback_rate_90d)::numeric, 4)
		  FROM featstore.pit_join(NULL::fraud_training_v3, 'fraud_labels', service => 'fraud_model_v3')) AS rate_sum_joined_now;
