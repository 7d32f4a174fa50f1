# The online side of a backfill's promote (issue 12): exactly the entities
# whose winner at now() the promoted rows change are rewritten in Redis, no
# other key is touched, and verify_online() then finds no difference.
#
# A rewrite changes a key's value (it carries materialized_at, the worker's
# clock at the write), so every key's exact bytes are read before and after
# the promote with redis-cli, by the documented layout
# fs:postgres:{customer:<id>}:bf_online: a key whose bytes did not change was not
# rewritten.  The worker's own counter (entities_written) must grow by the
# same number.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('backfill_online', $rport);

# 200 customers, a row a day for the last 5 days (the winner: 1 day ago)
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY customer (customer_id bigint);
		CREATE FEATURE GROUP bf_online ENTITY customer FEATURES (score double precision) ONLINE;
	$$);
	INSERT INTO bf_online (customer_id, event_timestamp, score)
	SELECT c, date_trunc('second', now()) - d * interval '1 day', c * 10 + d
	  FROM generate_series(1, 200) c, generate_series(1, 5) d;
});
wait_caught_up($node, 'initial load');
verify_zero($node, 'bf_online', 'verify_online finds no difference before the backfill');

# the exact bytes of every customer's key, 1 .. 220
sub snapshot
{
	my @keys = map { "fs:postgres:{customer:$_}:bf_online" } 1 .. 220;
	my $out = redis_cmd($rport, undef, '--no-raw', 'MGET', @keys);
	my @lines = split /\n/, $out;
	die 'MGET returned ' . scalar(@lines) . ' values' unless @lines == 220;
	my %v;
	for my $i (0 .. $#lines)
	{
		(my $val = $lines[$i]) =~ s/^\s*\d+\)\s*//;
		$v{ $i + 1 } = $val;
	}
	return \%v;
}

my $before = snapshot();
is(scalar(grep { $before->{$_} ne '(nil)' } 1 .. 200), 200, 'Redis holds the 200 customers');
is(scalar(grep { $before->{$_} eq '(nil)' } 201 .. 220), 20, 'and none of 201 .. 220');
my $written_before = $node->safe_psql('postgres',
	q{SELECT entities_written FROM featstore.online_group_status() WHERE group_name = 'bf_online'});

# the shadow:
#   1 .. 40     their winner (1 day ago) corrected: the winner changes
#   41 .. 80    a row of 3 days ago corrected: the winner does not change
#   81 .. 90    a new row 2 days ago, older than the winner: no change
#   91 .. 95    a new row 12 hours ago, newer than the winner: changes
#   96 .. 100   a row 8 days ago, before every row: no change
#   201 .. 210  new customers: their first value
$node->safe_psql('postgres', q{
	SELECT featstore.open_backfill('bf_online', 'fix_scores', now() - interval '10 days', now());
	INSERT INTO bf_online__bf_fix_scores (customer_id, event_timestamp, score)
	SELECT customer_id, event_timestamp, score + 1000 FROM bf_online
	 WHERE customer_id <= 40 AND event_timestamp > now() - interval '1 day 1 hour'
	UNION ALL
	SELECT customer_id, event_timestamp, score + 1000 FROM bf_online
	 WHERE customer_id BETWEEN 41 AND 80
	   AND event_timestamp BETWEEN now() - interval '3 days 1 hour' AND now() - interval '2 days 23 hours'
	UNION ALL
	SELECT c, date_trunc('second', now()) - interval '2 days 6 hours', -c FROM generate_series(81, 90) c
	UNION ALL
	SELECT c, date_trunc('second', now()) - interval '12 hours', -c FROM generate_series(91, 95) c
	UNION ALL
	SELECT c, date_trunc('second', now()) - interval '8 days', -c FROM generate_series(96, 100) c
	UNION ALL
	SELECT c, date_trunc('second', now()) - interval '1 day', c FROM generate_series(201, 210) c;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM bf_online__bf_fix_scores}), '110',
	'the shadow holds 110 rows');
is($node->safe_psql('postgres', q{
	SELECT verdict FROM featstore.validate_backfill('fix_scores',
		'{"max_missing_entities": 1, "psi": 100}') WHERE check_name = 'verdict'}),
	'passed', 'the backfill passes validation (thresholds set for it)');

my $detail = $node->safe_psql('postgres',
	q{SELECT detail FROM featstore.exec($$ PROMOTE BACKFILL fix_scores $$)});
like($detail, qr/^110 rows at created_at .*; 55 entities queued online$/,
	'the promote inserts 110 rows and queues 55 entities');
wait_caught_up($node, 'after the promote');

my $after = snapshot();
my @changed = grep { $before->{$_} ne $after->{$_} } 1 .. 220;
my @expected = (1 .. 40, 91 .. 95, 201 .. 210);
is_deeply(\@changed, \@expected,
	'exactly the 55 entities whose winner changed were rewritten; no other key was touched');
is(scalar(grep { $after->{$_} eq '(nil)' } 201 .. 210), 0, 'the new customers are in Redis');
is($node->safe_psql('postgres', q{
	SELECT entities_written FROM featstore.online_group_status() WHERE group_name = 'bf_online'})
	  - $written_before, 55, 'the worker wrote 55 entities');

# the values themselves, through the documented read path
is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s=%s', k, (features->>'score')), ' ' ORDER BY k::int)
	  FROM unnest(ARRAY['1', '41', '91', '201']) k,
	       LATERAL featstore.online_features('bf_online', k) o}),
	'1=1011 41=411 91=-91 201=201', 'Redis serves the promoted winners, and the old ones elsewhere');
verify_zero($node, 'bf_online', 'verify_online finds no difference after the promote');

# a plain INSERT of the same kind of rows rewrites every entity it touches:
# the promote's restriction is its own, capture is unchanged
my $q = $node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO bf_online (customer_id, event_timestamp, score)
	SELECT c, now() - interval '4 days 1 hour', 0 FROM generate_series(41, 80) c;
	SELECT coalesce(sum(entities), 0) FROM featstore.online_queue WHERE group_name = 'bf_online';
	COMMIT;});
is($q, '40', 'an ordinary INSERT still queues every entity it writes');
wait_caught_up($node, 'after the plain insert');
verify_zero($node, 'bf_online', 'verify_online finds no difference at the end');

$node->stop;
done_testing();
