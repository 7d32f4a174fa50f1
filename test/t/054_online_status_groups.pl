# The worker's per-group counters are a shared hash table of 128 entries
# (ONLINE_MAX_GROUPS).  With more online groups than that, every group is
# still served, the table holds 128 groups' counters, and a group written
# again gets its counters back (the group longest without a successful batch
# makes room), as the fixed slots of earlier releases did.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $ngroups = 130;
my $rport = start_redis();
my $node = online_node('statusgroups', $rport);

my $ddl = "CREATE ENTITY acct (acct_id bigint);\n";
$ddl .= "CREATE FEATURE GROUP g$_ ENTITY acct FEATURES (v bigint 'Value') ONLINE;\n"
  for 1 .. $ngroups;
$node->safe_psql('postgres', "DO LANGUAGE featstore \$\$ $ddl \$\$");
$node->safe_psql('postgres',
	join('', map { "INSERT INTO g$_ (acct_id, event_timestamp, v) VALUES (1, now() - interval '1 minute', $_);\n" } 1 .. $ngroups));
wait_caught_up($node, "$ngroups groups");

is(redis_cmd($rport, undef, 'DBSIZE'), $ngroups, 'every group is served');
is($node->safe_psql('postgres', 'SELECT count(*) FROM featstore.online_group_status()'),
	'128', 'the counters of 128 groups are kept');
is($node->safe_psql('postgres',
	'SELECT count(DISTINCT group_name) FROM featstore.online_group_status()'),
	'128', 'each group once');

# every group, written again one after the other, has its counters while it is the latest
my $missing = 0;
for my $g (1, 2, 3, $ngroups)
{
	$node->safe_psql('postgres',
		"INSERT INTO g$g (acct_id, event_timestamp, v) VALUES (2, now() - interval '1 minute', 0)");
	wait_caught_up($node, "g$g written again");
	$missing++ unless $node->safe_psql('postgres',
		"SELECT entities_written >= 1 FROM featstore.online_group_status() WHERE group_name = 'g$g'") eq 't';
}
is($missing, 0, 'a group written again has counters');
is($node->safe_psql('postgres', 'SELECT count(*) FROM featstore.online_group_status()'),
	'128', 'still 128');
is($node->safe_psql('postgres', 'SELECT state FROM featstore.online_worker_status()'),
	'idle', 'the worker is alive and idle');

$node->stop;
stop_redis($rport);
done_testing();
