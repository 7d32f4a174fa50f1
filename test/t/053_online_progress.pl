# Progress of a whole-group walk.  materialize() of many entities, walked in
# small chunks (featstore.online_batch_size is reloadable), is sampled while
# it runs: featstore.materialization_progress shows its phase, entities done
# (never going back) out of the total materialize() returned, a rate and an
# estimated end; materialization_status never says idle while entities are
# queued, and its lag grows with the walk instead of staying frozen.  The
# view is empty once the walk ends.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $entities = 40000;
my $rport = start_redis();
my $node = online_node('progress', $rport);

$node->safe_psql('postgres', qq{
	SELECT * FROM featstore.exec(\$\$
		CREATE ENTITY acct (acct_id bigint);
		CREATE FEATURE GROUP g ENTITY acct FEATURES (v bigint 'Value') ONLINE;
	\$\$);
	INSERT INTO g (acct_id, event_timestamp, v)
	SELECT a, now() - interval '1 minute', a FROM generate_series(1, $entities) a;});
wait_caught_up($node, 'the load');
is($node->safe_psql('postgres', 'SELECT count(*) FROM featstore.materialization_progress'),
	'0', 'no walk, no progress row');

$node->safe_psql('postgres',
	"ALTER SYSTEM SET featstore.online_batch_size = 10; SELECT pg_reload_conf()");
sleep 1;

my $t0 = time();
is($node->safe_psql('postgres', "SELECT featstore.materialize('g')"),
	$entities, 'materialize() counts the entities');

my $sample = q{
	SELECT coalesce(p.phase, '-'), coalesce(p.entities_done, -1), coalesce(p.entities_total, -1),
		   coalesce(p.rate > 0, false), coalesce(p.estimated_end >= p.last_progress, false),
		   p.worker_pid IS NOT NULL, s.worker_state, s.queue_depth,
		   coalesce(extract(epoch FROM s.lag), 0)
	  FROM featstore.materialization_status s
	  LEFT JOIN featstore.materialization_progress p USING (group_name)
	 WHERE s.group_name = 'g'};
my (@rows, $lies, $back, $max_lag);
my $last_done = 0;
my $deadline = time() + 120;
while (time() < $deadline)
{
	my @r = split /\|/, $node->safe_psql('postgres', $sample);
	my ($phase, $done, $total, $rate_ok, $eta_ok, $pid_ok, $state, $depth, $lag) = @r;
	if ($state eq 'idle' && $depth > 0)
	{
		# the worker may have committed the end of the walk and gone idle
		# between this statement's snapshot and its read of shared memory
		my $now_depth = $node->safe_psql('postgres',
			"SELECT queue_depth FROM featstore.materialization_status WHERE group_name = 'g'");
		$lies++ if $now_depth > 0;
	}
	last if $phase eq '-' && $depth == 0;
	# queued: not taken up yet, or (the same race) just finished
	next if $phase eq 'queued';
	push @rows, [@r];
	$back++ if $done < $last_done;
	$last_done = $done;
	$max_lag = $lag if !defined $max_lag || $lag > $max_lag;
	usleep(20_000);
}
my $elapsed = time() - $t0;
note sprintf('walk of %d entities took %.1f s, %d samples', $entities, $elapsed, scalar @rows);

my @mid = grep { $_->[1] > 0 && $_->[1] < $_->[2] } @rows;
cmp_ok(scalar @mid, '>=', 3, 'the walk was seen part way through several times');
ok(!grep({ $_->[2] != $entities } @rows), 'entities_total is what materialize() returned');
ok(!$back, 'entities_done never goes back');
ok(!grep({ !$_->[3] || !$_->[4] } @mid), 'rate and estimated end are shown once entities are done');
ok(!grep({ !$_->[5] } @rows), 'the worker pid is shown while it walks');
ok(!grep({ $_->[0] !~ /^(reading the group|writing to Redis|recording progress)$/ } @rows),
	'phases are those of a walk going well');
ok(!$lies, 'worker_state is never idle while entities are queued');
cmp_ok($max_lag, '>=', $elapsed / 3, 'lag grows with the walk');
my $final_lag = $node->safe_psql('postgres',
	"SELECT extract(epoch FROM lag) FROM featstore.materialization_status WHERE group_name = 'g'");
cmp_ok($final_lag, '>=', $elapsed / 2, 'the last chunk\'s lag is the walk\'s');
is($node->safe_psql('postgres', 'SELECT count(*) FROM featstore.materialization_progress'),
	'0', 'the finished walk is gone from the view');
wait_caught_up($node, 'the walk');
verify_zero($node, 'g');

# a walk not yet taken up (its queue row not committed) is shown as queued
is($node->safe_psql('postgres', q{
	BEGIN;
	SELECT featstore.materialize('g');
	SELECT group_name, phase, entities_done, entities_total, rate IS NULL, started IS NULL,
		   estimated_end IS NULL FROM featstore.materialization_progress;
	ROLLBACK;}), "$entities\ng|queued|0|$entities|t|t|t",
	'a walk not yet taken up is queued');

done_testing();
