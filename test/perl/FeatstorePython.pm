# FeatstorePython: helpers for the Python client's TAP tests (090-093).
# The package is installed from python/ with pip into a private directory
# (offline: no index, no dependencies; Debian's modules provide them), and
# every script runs under /usr/bin/python3 with that directory first.
package FeatstorePython;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(python_ok install_client run_python);

my $target;

# python_ok() says whether /usr/bin/python3 has the modules the client needs
sub python_ok
{
	return system('/usr/bin/python3', '-c',
		'import psycopg2, redis, msgpack, pandas, numpy') == 0;
}

# install_client() pip-installs python/ once; returns the target directory
sub install_client
{
	return $target if defined $target;
	my $src = "$PostgreSQL::Test::Utils::tmp_check/pysrc";
	$target = "$PostgreSQL::Test::Utils::tmp_check/pylib";
	system('rm', '-rf', $src, $target);
	system('cp', '-r', 'python', $src) == 0 or die "cannot copy python/";
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ '/usr/bin/python3', '-m', 'pip', 'install', '-q', '--no-deps',
		  '--no-build-isolation', '--no-index', '--target', $target, $src ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(180));
	ok($ok, 'pip install ./python works offline') or diag("$out\n$err");
	ok(-x "$target/bin/featstore-serve", 'the console script featstore-serve is installed');
	return $target;
}

# run_python(args => [...], env => {...}, stdin => text, timeout => s):
# (exit code, stdout, stderr) of /usr/bin/python3 with the installed client
sub run_python
{
	my %o = @_;
	my $lib = install_client();
	my ($out, $err) = ('', '');
	my $in = $o{stdin} // '';
	IPC::Run::run([ '/usr/bin/python3', @{ $o{args} } ], '<', \$in, '>', \$out, '2>', \$err,
		init => sub {
			$ENV{PYTHONPATH} = $lib;
			$ENV{PYTHONDONTWRITEBYTECODE} = 1;
			# the checkout holds featstore.so: never import it from the cwd
			$ENV{PYTHONSAFEPATH} = 1;
			$ENV{$_} = $o{env}{$_} for keys %{ $o{env} // {} };
		},
		IPC::Run::timeout($o{timeout} // 120));
	return ($? >> 8, $out, $err);
}

1;
