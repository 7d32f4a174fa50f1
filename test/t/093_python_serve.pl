# featstore-serve (python/featstore/serve.py, docs/serving.md), the installed
# console script, started as a real process and called over HTTP with
# keep-alive: POST /get-online-features for a service of 3 groups and for
# features, one object per entity in request order, each value, status and
# event_timestamp equal to featstore.online_features(); 400 for each kind of
# bad request, 404 for unknown names and paths, 503 and an unhealthy
# /health while Redis is down (and 200 once it is back), /metrics counting
# exactly the requests sent; the refusal to run as root.
use strict;
use warnings;
use lib 'test/perl';
use FeatstoreOnline;
use FeatstorePython;
use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

plan skip_all => '/usr/bin/python3 with psycopg2, redis, msgpack, pandas, fastapi, uvicorn is needed'
  unless python_ok() && system('/usr/bin/python3', '-c', 'import fastapi, uvicorn') == 0;

my $rport = start_redis();
my $node = online_node('pyserve', $rport);
$node->safe_psql('postgres', q{
	SELECT * FROM featstore.exec($$
		CREATE ENTITY card (bank text, card_id bigint);
		CREATE ENTITY dev (dev_id uuid);
		CREATE FEATURE GROUP spend ENTITY card FEATURES (total double precision, n bigint,
			note text, ok boolean) TTL '1 day' ONLINE;
		CREATE FEATURE GROUP flags ENTITY card FEATURES (blocked boolean) TTL '1 hour' ONLINE;
		CREATE FEATURE GROUP devg ENTITY dev FEATURES (score double precision) ONLINE;
		CREATE FEATURE GROUP archive ENTITY card FEATURES (old bigint);
		CREATE FEATURE SERVICE m3 FEATURES (spend.total, spend.n, spend.note, flags.blocked, devg.score);
	$$);
	INSERT INTO spend SELECT 'b' || i, i % 3, now() - i * interval '1 minute', now(),
	       CASE WHEN i = 4 THEN 'NaN' ELSE i * 1.25 END, i * 1000000007::bigint, 'n"' || i, i % 2 = 0
	  FROM generate_series(0, 19) i;
	INSERT INTO flags SELECT 'b' || i, i % 3, now() - i * interval '5 minutes', now(), i % 2 = 1
	  FROM generate_series(0, 19) i;
	INSERT INTO devg SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(i), 12, '0'))::uuid, now(), now(), i / 8.0
	  FROM generate_series(1, 10) i;
});
wait_caught_up($node);

my $lib = install_client();
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dsn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my ($sout, $serr) = ('', '');
my $server = IPC::Run::start([ "$lib/bin/featstore-serve" ], '>', \$sout, '2>', \$serr,
	init => sub {
		$ENV{PYTHONPATH} = $lib;
		$ENV{PYTHONSAFEPATH} = 1;
		$ENV{FEATSTORE_DSN} = $dsn;
		$ENV{FEATSTORE_REDIS_URL} = "redis://127.0.0.1:$rport/0";
		$ENV{FEATSTORE_SERVE_PORT} = $port;
		$ENV{FEATSTORE_SERVE_MAX_ENTITIES} = 100;
	});
END { $server->kill_kill if $server }
my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my $base = "http://127.0.0.1:$port";
ok(poll_until(sub { ($http->get("$base/health")->{status} // 0) == 200 }, 30), 'the server answers /health')
  or diag($serr);

my %sent;
# post(body) -> (status, decoded body)
sub post
{
	my ($body) = @_;
	my $r = $http->post("$base/get-online-features",
		{ content => $body, headers => { 'content-type' => 'application/json' } });
	$sent{ $r->{status} }++;
	my $j = eval { decode_json($r->{content}) };
	return ($r->{status}, $j, $r->{content});
}

# the expected answer of one entity x group, from featstore.online_features()
sub expected
{
	my ($group, @keys) = @_;
	my $args = join(', ', map { "'$_'" } @keys);
	my $row = $node->safe_psql('postgres', qq{
		SELECT status, coalesce(features::text, 'null'),
		       coalesce(to_char(event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00', '')
		  FROM featstore.online_features('$group', $args)});
	my ($st, $f, $ets) = split /\|/, $row;
	return ($st, decode_json($f), $ets);
}

my @ents = map { { bank => "b$_", card_id => $_ % 3, dev_id => sprintf('00000000-0000-0000-0000-%012x', $_) } }
  (7, 3, 19, 0, 12, 4, 25, 1);
my ($st, $j) = post(encode_json({ service => 'm3', entities => \@ents }));
is($st, 200, 'a service of 3 groups for 8 entities: 200');
is(join(',', map { $_->{entity}{bank} } @{ $j->{results} }), 'b7,b3,b19,b0,b12,b4,b25,b1',
	'one object per entity, in request order');
my ($diffs, $checked, %statuses) = (0, 0);
my %of = (total => 'spend', n => 'spend', note => 'spend', blocked => 'flags', score => 'devg');
for my $i (0 .. $#ents)
{
	my $res = $j->{results}[$i];
	for my $f (sort keys %of)
	{
		my $g = $of{$f};
		my @keys = $g eq 'devg' ? ($ents[$i]{dev_id}) : ($ents[$i]{bank}, $ents[$i]{card_id});
		my ($est, $ef, $eets) = expected($g, @keys);
		my $want = $est eq 'found' ? $ef->{$f} : undef;
		my $got = $res->{features}{$f};
		my $same = (!defined $want && !defined $got)
		  || (defined $want && defined $got && JSON::PP->new->canonical->allow_nonref->encode($want)
			eq JSON::PP->new->canonical->allow_nonref->encode($got));
		$same &&= $res->{status}{$f} eq $est;
		$same &&= ($res->{event_timestamp}{$f} // '') eq ($est eq 'found' ? $eets : '');
		$checked++;
		$statuses{$est}++;
		next if $same;
		$diffs++;
		diag("entity $i $f: got " . encode_json([ $got, $res->{status}{$f}, $res->{event_timestamp}{$f} ])
			  . " want " . encode_json([ $want, $est, $eets ]));
	}
	$diffs++ unless JSON::PP->new->canonical->encode($res->{entity}) eq JSON::PP->new->canonical->encode($ents[$i]);
}
is($diffs, 0, "each value, status and event_timestamp equals online_features() ($checked values: "
	  . join(', ', map { "$statuses{$_} $_" } sort keys %statuses) . ')');
ok(($statuses{found} // 0) > 10 && ($statuses{missing} // 0) > 3, 'found and missing values both checked');
is($j->{results}[5]{features}{total}, 'NaN', 'NaN as online_features spells it');
is($j->{results}[0]{features}{note}, 'n"7', 'text with a quote');

($st, $j) = post(encode_json({ features => [ 'spend.n', 'devg' ], entities => [ { bank => 'b2', card_id => 2,
	dev_id => '00000000-0000-0000-0000-000000000002' } ], full_feature_names => JSON::PP::true }));
is($st, 200, 'features in place of a service');
is(JSON::PP->new->canonical->encode($j->{results}[0]{features}), '{"devg__score":0.25,"spend__n":2000000014}',
	'full_feature_names: group__feature');

# bad requests
my @bad = (
	[ 'not json', qr/the body is not JSON/ ],
	[ '[1]', qr/the body must be a JSON object/ ],
	[ ('[' x 100000) . (']' x 100000), qr/the body is not JSON: nested too deeply/ ],
	[ '{"service": "m3"}', qr/"entities" must be a list/ ],
	[ '{"entities": []}', qr/give "service" or "features"/ ],
	[ '{"service": "m3", "entities": [], "user": 1}', qr/unknown field\(s\): user/ ],
	[ '{"service": "m3", "entities": [1]}', qr/entity 1 is not an object/ ],
	[ '{"service": "m3", "entities": [{"bank": true}]}', qr/entity 1: key "bank" must be a string or an integer/ ],
	[ '{"service": "m3", "entities": [{"bank": "b1"}]}', qr/entity row 1 has no key "card_id" of entity "card" \(feature group "spend"\)/ ],
	[ '{"service": "m3", "entities": [{"bank": "b1", "card_id": "x", "dev_id": "y"}]}', qr/entity key "card_id" must be an integer/ ],
	[ '{"features": "spend", "entities": []}', qr/"features" must be a non-empty list of strings/ ],
	[ '{"service": 7, "entities": []}', qr/"service" must be a non-empty string/ ],
	[ '{"features": ["archive"], "entities": [{"bank": "b1", "card_id": 1}]}', qr/feature group "archive" is OFFLINE/ ],
	[ encode_json({ service => 'm3', entities => [ map { {} } 1 .. 101 ] }), qr/too many entities: 101, at most 100/ ],
	[ '{"service": "m3", "entities": [], "x": "' . ('a' x (1 << 20)) . '"}', qr/the body is larger than 1048576 bytes/ ],
);
for my $b (@bad)
{
	my ($s, $bj, $raw) = post($b->[0]);
	is($s, 400, "400: $b->[1]");
	like($bj->{error} // $raw, $b->[1], '  with the reason');
}
($st, $j) = post('{"service": "m4", "entities": [{"bank": "b1"}]}');
is($st, 404, 'an unknown service: 404');
like($j->{error}, qr/feature service "m4" does not exist \(known: m3\)/, '  naming it');
($st, $j) = post('{"features": ["spend.nope"], "entities": []}');
is($st, 404, 'an unknown feature: 404');
($st, $j) = post('{"features": ["spnd"], "entities": []}');
is($st, 404, 'an unknown group: 404');
is($http->get("$base/nope")->{status}, 404, 'an unknown path: 404');

# Redis down: 503, unhealthy; back: 200
stop_redis($rport);
($st, $j) = post(encode_json({ service => 'm3', entities => [ $ents[0] ] }));
is($st, 503, 'Redis down: 503');
like($j->{error}, qr/^redis is unavailable: /, '  saying so');
my $h = $http->get("$base/health");
is($h->{status}, 503, '/health: 503 while Redis is down');
like($h->{content}, qr/"status": "unavailable"/, '  unavailable');
start_redis(port => $rport);
$node->safe_psql('postgres', q{SELECT featstore.materialize(g) FROM unnest('{spend,flags,devg}'::text[]) g});
wait_caught_up($node, 'Redis filled again');
($st, $j) = post(encode_json({ service => 'm3', entities => [ $ents[0] ] }));
is($st, 200, 'Redis back: 200 again');
is($j->{results}[0]{status}{total}, 'found', '  with the values');

# many requests over one keep-alive connection (latency: bench/python/serve_latency.py;
# HTTP::Tiny writes headers and body in two packets, so its timings are Nagle's, not the server's)
my $one = encode_json({ service => 'm3', entities => [ $ents[0] ] });
my $okn = 0;
for (1 .. 50)
{
	my ($s, $oj) = post($one);
	$okn++ if $s == 200 && $oj->{results}[0]{status}{total} eq 'found';
}
is($okn, 50, '50 requests on one keep-alive connection');

# /metrics counts exactly what was sent
my $m = $http->get("$base/metrics")->{content};
for my $code (sort keys %sent)
{
	my ($n) = $m =~ /^featstore_serve_requests_total\{path="\/get-online-features",status="$code"\} (\d+)$/m;
	is($n, $sent{$code}, "/metrics: $sent{$code} requests answered $code");
}
my $total = 0;
$total += $_ for values %sent;
like($m, qr/^featstore_serve_request_duration_seconds_count\{path="\/get-online-features"\} $total$/m,
	"/metrics: the latency histogram counts all $total");
like($m, qr/^featstore_serve_request_duration_seconds_bucket\{path="\/get-online-features",le="\+Inf"\} $total$/m,
	'  and its +Inf bucket');
like($m, qr/^featstore_serve_requests_total\{path="other",status="404"\} 1$/m, 'an unknown path counts as "other"');
like($m, qr/^# TYPE featstore_serve_request_duration_seconds histogram$/m, 'in Prometheus text format');

$server->kill_kill;
undef $server;

# a server whose role may read only spend: 403 for the others
$node->safe_psql('postgres', q{
	CREATE ROLE svc LOGIN IN ROLE featstore_reader;
	GRANT SELECT ON spend TO svc;
});
my $port2 = PostgreSQL::Test::Cluster::get_free_port();
my $server2 = IPC::Run::start([ "$lib/bin/featstore-serve" ], '>', \my $s2out, '2>', \my $s2err,
	init => sub {
		$ENV{PYTHONPATH} = $lib;
		$ENV{PYTHONSAFEPATH} = 1;
		$ENV{FEATSTORE_DSN} = "$dsn user=svc";
		$ENV{FEATSTORE_REDIS_URL} = "redis://127.0.0.1:$rport/0";
		$ENV{FEATSTORE_SERVE_PORT} = $port2;
		$ENV{FEATSTORE_SERVE_LOG_LEVEL} = 'info';
	});
ok(poll_until(sub { ($http->get("http://127.0.0.1:$port2/health")->{status} // 0) == 200 }, 30),
	'a second server, as a role that may read spend only') or diag($s2err);
my $r2 = $http->post("http://127.0.0.1:$port2/get-online-features",
	{ content => encode_json({ service => 'm3', entities => [ $ents[0] ] }) });
is($r2->{status}, 403, 'a service with a group the role may not read: 403');
like($r2->{content}, qr/permission denied for feature group \\"flags\\"/, '  naming the group');
$r2 = $http->post("http://127.0.0.1:$port2/get-online-features",
	{ content => encode_json({ features => ['spend.total'], entities => [ $ents[0] ] }) });
is($r2->{status}, 200, 'what it may read: 200');
ok(poll_until(sub { $server2->pump_nb; $s2err =~ /^featstore-serve: uvicorn [0-9.]+ with http=httptools, loop=uvloop$/m }, 10),
	'at info level it logs that uvicorn runs with httptools and uvloop (installed by install-deps.sh)')
  or diag($s2err);
$server2->kill_kill;

# root: refused unless told, or switched to FEATSTORE_SERVE_USER
my $root = q{
import os, sys
os.geteuid = lambda: 0
from featstore import serve
for env in ({}, {"FEATSTORE_SERVE_USER": "no_such_user_x"}, {"FEATSTORE_SERVE_ALLOW_ROOT": "1"}):
    os.environ.update(env)
    try:
        serve._drop_root()
        print("allowed", env)
    except SystemExit as e:
        print("refused", e)
};
my ($rc, $out, $err) = run_python(args => [ '-c', $root ]);
like($out, qr/^refused featstore-serve: refusing to run as root; set FEATSTORE_SERVE_USER/m, 'as root: refused');
like($out, qr/^refused featstore-serve: FEATSTORE_SERVE_USER: no user "no_such_user_x"$/m, 'an unknown user to switch to');
($rc, $out, $err) = run_python(args => [ '-m', 'featstore.serve', '--help' ]);
like($out, qr/usage: featstore-serve/, 'python3 -m featstore.serve runs');
($rc, $out, $err) = run_python(args => [ '-m', 'featstore.serve' ], env => { FEATSTORE_DSN => '' });
like($err, qr/set FEATSTORE_DSN/, 'without FEATSTORE_DSN: a clear error');

$node->stop;
stop_redis($rport);
done_testing();
