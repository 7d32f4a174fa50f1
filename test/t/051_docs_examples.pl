# Every SQL example in docs/ marked "<!-- runnable -->" (on the line before
# its fence) runs as written: each file's examples in order, with psql and
# ON_ERROR_STOP, in a fresh database of its own that has only the extension.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('docs');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'featstore'\n");
$node->start;

my $total = 0;
for my $doc (sort glob('docs/*.md'))
{
	my $text = slurp_file($doc);
	my @examples = $text =~ /^<!-- runnable -->\n```sql\n(.*?)^```$/msg;
	my $marks = () = $text =~ /^<!-- runnable -->$/mg;
	is(scalar(@examples), $marks, "$doc: every runnable mark is followed by a sql fence");
	next unless @examples;

	(my $db = $doc) =~ s{^docs/(.*)\.md$}{docs_$1};
	$db =~ s/\W/_/g;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION featstore');
	my $n = 0;
	for my $sql (@examples)
	{
		$n++;
		my $file = "$PostgreSQL::Test::Utils::tmp_check/$db.$n.sql";
		open my $fh, '>', $file or die "could not write $file: $!";
		print $fh $sql;
		close $fh;
		my ($out, $err) = ('', '');
		my $ok = IPC::Run::run(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $file,
			  '-d', $node->connstr($db) ],
			'>', \$out, '2>', \$err, IPC::Run::timeout(60));
		my ($first) = $sql =~ /^(?!--)(\S.*)$/m;
		# NOTICEs (DROP ... IF EXISTS) are part of an example's output
		ok($ok && $err !~ /\b(ERROR|WARNING|FATAL):/, "$doc example $n runs as written ($first)")
		  or diag("stderr:\n$err");
		$total++;
	}
}
cmp_ok($total, '>=', 1, "$total runnable examples found");
$node->stop;
done_testing();
