# scripts/install-deps.sh touches no server it did not start: with the
# packaged cluster "15 main" online and a Redis answering on 6379, it stops
# neither.  The server tools are stand-ins that record how they were called,
# so no real server on this machine is involved.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

my $bin = PostgreSQL::Test::Utils::tempdir('stubs');
my $calls = "$bin/calls.log";

# stub(name, body) writes an executable stand-in that logs its arguments
sub stub
{
	my ($name, $body) = @_;
	open my $fh, '>', "$bin/$name" or die "cannot write $bin/$name: $!";
	print $fh "#!/bin/sh\necho \"$name \$*\" >> '$calls'\n$body\n";
	close $fh;
	chmod 0755, "$bin/$name";
}
stub('pg_lsclusters', q{echo '15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log'});
stub('pg_ctlcluster', 'exit 0');
stub('redis-cli', 'echo PONG');
stub('service', 'exit 0');
# apt must not run: every package is reported installed
stub('dpkg-query', q{echo 'install ok installed'});
stub('apt-get', 'exit 1');

my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'bash', 'scripts/install-deps.sh' ], '>', \$out, '2>', \$err,
	init => sub { $ENV{PATH} = "$bin:$ENV{PATH}" }, IPC::Run::timeout(60));
ok($ok, 'install-deps.sh succeeds') or diag($err);

my $log = -e $calls ? slurp_file($calls) : '';
unlike($log, qr/^pg_ctlcluster .*stop/m, 'the packaged cluster is not stopped');
unlike($log, qr/^redis-cli .*shutdown/m, 'the Redis on 6379 is not shut down');
unlike($log, qr/^service .*stop/m, 'no service is stopped');
unlike($log, qr/^apt-get/m, 'nothing is installed when nothing is missing');

done_testing();
