# README.md's tour runs exactly as written: its SQL block (the fence after
# "<!-- tour -->") goes verbatim through psql -f with ON_ERROR_STOP, in a
# fresh database the worker serves, and the results its comments promise are
# the results it prints.  So the README and the code cannot drift apart.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $readme = slurp_file('README.md');
my ($tour) = $readme =~ /^<!-- tour -->\n```sql\n(.*?)^```$/ms;
ok(defined $tour, 'README.md has a tour block') or BAIL_OUT('no tour in README.md');
like($tour, qr/\ACREATE EXTENSION featstore;/, 'the tour starts with CREATE EXTENSION');

# the node's "postgres" database is served by the worker and has no
# extension yet: the tour creates it
my $rport = start_redis();
my $node = online_node('tour', $rport, undef, 'SELECT 1');
my $file = "$PostgreSQL::Test::Utils::tmp_check/tour.sql";
open my $fh, '>', $file or die "could not write $file: $!";
print $fh $tour;
close $fh;

# -e echoes each statement before its result, -At prints rows as a|b|c
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
	[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-e', '-At', '-f', $file,
	  '-d', $node->connstr('postgres') ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(120));
ok($ok, 'the tour runs without an error') or diag("stderr:\n$err\nstdout:\n$out");
is($err, '', 'the tour prints no error or warning');

# rows_after(last line of an echoed statement) gives the rows printed after it
sub rows_after
{
	my ($line) = @_;
	my @lines = split /\n/, $out;
	for my $i (0 .. $#lines)
	{
		next unless $lines[$i] eq $line;
		my @rows;
		push @rows, $lines[$_] for grep { $_ > $i } 0 .. $#lines;
		my @result;
		for (@rows)
		{
			last if /^(SELECT|INSERT|EXPLAIN|CREATE|COPY|DO) /;
			push @result, $_;
		}
		return @result;
	}
	return;
}

# single-value checks: "SELECT ...;   -- expected" (first column)
my $checks = 0;
for my $line (split /\n/, $tour)
{
	next unless $line =~ /^(SELECT [^;]*;)\s+--\s+(\S+)\s*$/;
	my ($query, $expected) = ($1, $2);
	my @rows = rows_after($query);
	is(scalar(@rows) ? (split /\|/, $rows[0])[0] : undef,
		$expected, "tour: $query returns $expected");
	$checks++;
}
is($checks, 8, 'the tour states what wait_for_online, online_features, verify_online and the window features return');

# the as_of check: "-- tx_count_1h 3, 3, NULL, 2 (without as_of: 4, 4, NULL, 2)"
my ($with, $without) =
  $tour =~ /-- tx_count_1h ([^(]+?) \(without as_of: ([^)]+)\)/;
ok(defined $with, 'the tour states what as_of returns');
my $list = sub { join ', ', map { my $v = (split /\|/, $_, -1)[-1]; $v eq '' ? 'NULL' : $v } @_ };
is($list->(rows_after(' ORDER BY event_timestamp;')), $with,
	'as_of hides the late correction');
is($list->(rows_after(' ORDER BY l.event_timestamp;')), $without,
	'the plain SQL join (no as_of) sees it');

like($out, qr/Custom Scan \(PitJoin\)/, 'the EXPLAIN shows the PitJoin node');
verify_zero($node, 'user_transaction_features');
$node->stop;
done_testing();
