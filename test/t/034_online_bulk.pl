# materialize() of whole groups: the one-pass winners over a dense key range
# (short histories; integer, text and uuid keys) and the per-entity probe (long
# histories) give the same Redis content as the point-in-time rule, with
# deletes, expiries and future-dated rows.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rport = start_redis();
my $node = online_node('bulk', $rport, "log_min_messages = debug1\n");
my $range_re = qr/winners of group "(\w+)" from one pass over its key range/;

$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY acct (acct_id bigint);
		CREATE ENTITY tag (tag text);
		CREATE FEATURE GROUP dense ENTITY acct
			FEATURES (v bigint 'Value', note text 'Note') TTL '1 hour' ONLINE;
		CREATE FEATURE GROUP hist ENTITY acct
			FEATURES (v bigint 'Value') ONLINE;
		CREATE FEATURE GROUP tagged ENTITY tag
			FEATURES (v double precision 'Value') TTL '1 day' ONLINE;
		CREATE ENTITY dev (dev_id uuid);
		CREATE FEATURE GROUP devices ENTITY dev
			FEATURES (v integer 'Value') ONLINE;
	$$)});

# 3000 accounts: one current row each, an older one for some, only a row
# older than the TTL for others (no winner: no key), a future row for some;
# ties on event_timestamp are broken by created_at
$node->safe_psql('postgres', q{
	INSERT INTO dense (acct_id, event_timestamp, created_at, v, note)
	SELECT g, now() - interval '1 minute', now(), g, 'n' || g FROM generate_series(1, 3000) g
	WHERE g % 11 <> 0;
	INSERT INTO dense (acct_id, event_timestamp, created_at, v, note)
	SELECT g, now() - interval '1 minute', now() + interval '1 second', -g, 'tie' FROM generate_series(1, 3000) g
	WHERE g % 17 = 0 AND g % 11 <> 0;
	INSERT INTO dense (acct_id, event_timestamp, v, note)
	SELECT g, now() - interval '10 minutes', 0, 'older' FROM generate_series(1, 3000) g WHERE g % 7 = 0;
	INSERT INTO dense (acct_id, event_timestamp, v, note)
	SELECT g, now() - interval '2 hours', 0, 'expired' FROM generate_series(1, 3000) g WHERE g % 11 = 0;
	INSERT INTO dense (acct_id, event_timestamp, v, note)
	SELECT g, now() + interval '1 hour', 0, 'future' FROM generate_series(1, 3000) g WHERE g % 13 = 0;
	INSERT INTO hist (acct_id, event_timestamp, v)
	SELECT a, now() - make_interval(mins => h), a * 100 + h FROM generate_series(1, 300) a, generate_series(1, 20) h;
	INSERT INTO tagged (tag, event_timestamp, v)
	SELECT 'k:' || g || CASE WHEN g % 3 = 0 THEN '{%}' ELSE '' END, now() - interval '1 minute', g / 4.0
	FROM generate_series(1, 2000) g;
	INSERT INTO devices (dev_id, event_timestamp, v)
	SELECT md5(g::text)::uuid, now() - interval '1 minute', g FROM generate_series(1, 1500) g;
});
wait_caught_up($node, 'initial load');

for my $group ('dense', 'tagged', 'devices', 'hist')
{
	# an empty Redis and a stale key that must go: materialize() alone restores it
	redis_cmd($rport, undef, 'FLUSHDB');
	redis_cmd($rport, undef, 'SET', "fs:{acct:22}:$group", 'stale') if $group eq 'dense' || $group eq 'hist';
	my $before = grep { $_ eq $group } (slurp_file($node->logfile) =~ /$range_re/g);
	$node->safe_psql('postgres', "SELECT featstore.materialize('$group')");
	wait_caught_up($node, "materialize('$group')");
	verify_zero($node, $group, "no difference after materialize('$group')");
	my $after = grep { $_ eq $group } (slurp_file($node->logfile) =~ /$range_re/g);
	if ($group eq 'hist')
	{
		is($after, $before, 'long histories: one probe per entity, no range pass');
		is($node->safe_psql('postgres', "SELECT features->>'v' FROM featstore.online_features('hist', '7')"),
			'701', 'long history: the latest row wins');
		is(redis_cmd($rport, undef, 'PTTL', 'fs:{acct:1}:hist'), '-1', 'no TTL, no expiry');
	}
	else
	{
		cmp_ok($after, '>', $before, "$group: winners from one pass over the key range");
	}
	next if $group ne 'dense';
	is(redis_cmd($rport, undef, 'EXISTS', 'fs:{acct:22}:dense'), '0',
		'stale key of an entity without a current row removed');
	is($node->safe_psql('postgres', "SELECT features->>'note' FROM featstore.online_features('dense', '34')"),
		'tie', 'tie on event_timestamp: the later created_at wins');
	is($node->safe_psql('postgres', "SELECT features->>'v' FROM featstore.online_features('dense', '26')"),
		'26', 'future row not served early');
	my $pttl = redis_cmd($rport, undef, 'PTTL', 'fs:{acct:1}:dense');
	ok($pttl > 3_400_000 && $pttl <= 3_540_000, "expiry at event_timestamp + TTL ($pttl ms)");
}
$node->stop;
stop_redis($rport);
done_testing();
