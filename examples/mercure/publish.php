<?php
// Publishes to the relay's Mercure hub with Symfony's Mercure component, unchanged:
// only the hub URL points at the relay. (Debian: apt-get install php-cli php-symfony-mercure;
// Composer: composer require symfony/mercure.)
//
//   MERCURE_URL=https://sse.example.com/.well-known/mercure MERCURE_JWT=<publisher token> \
//     php publish.php https://example.com/books/1 '{"title":"Dune"}'
//
// The relay must run with MERCURE_PROTOCOL=legacy for this library version (0.6 speaks the
// pre-standard protocol: several `topic` fields, the `mercure` JWT claim). Prints the update's id.
declare(strict_types=1);

require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Update;

$hubUrl = getenv('MERCURE_URL') ?: 'http://127.0.0.1:8787/.well-known/mercure';
$jwt = getenv('MERCURE_JWT');
if ($jwt === false || $jwt === '') {
    fwrite(STDERR, "Set MERCURE_JWT to a publisher token (docs/MERCURE.md: Migrating from a Mercure hub).\n");
    exit(2);
}
[$script, $topics, $data] = array_pad($argv, 3, null);
if ($topics === null || $data === null) {
    fwrite(STDERR, "usage: php publish.php <topic[,topic…]> <data> [private] [id] [type]\n");
    exit(2);
}

$hub = new Hub($hubUrl, new StaticTokenProvider($jwt));
$update = new Update(
    explode(',', $topics),
    $data,
    ($argv[3] ?? '') === 'private',
    ($argv[4] ?? '') !== '' ? $argv[4] : null,
    ($argv[5] ?? '') !== '' ? $argv[5] : null,
);
echo $hub->publish($update), "\n";
