<?php
// Publish to the relay from a PHP backend (standard library only: streams, json, hash_hmac).
// Run: php relay.php (against `npm run dev`; its values are the defaults below). Elsewhere set
// RELAY_URL, PUBLISH_TOKEN, SUBSCRIBE_JWT_SECRET and CHANNEL in the environment.

$relayUrl = getenv('RELAY_URL') ?: 'http://localhost:8787';
$publishToken = getenv('PUBLISH_TOKEN') ?: 'dev-token';
$jwtSecret = getenv('SUBSCRIBE_JWT_SECRET') ?: 'dev-subscribe-secret-do-not-use-in-production';
$channel = getenv('CHANNEL') ?: 'private-orders';

/** POSTs a JSON body with the publish token; returns [decoded answer, replayed?]. */
function post(string $path, array $body, array $headers = []): array
{
    global $relayUrl, $publishToken;
    $lines = ["Authorization: Bearer $publishToken", 'Content-Type: application/json'];
    foreach ($headers as $name => $value) {
        $lines[] = "$name: $value";
    }
    $context = stream_context_create(['http' => [
        'method' => 'POST',
        'header' => implode("\r\n", $lines),
        'content' => json_encode($body),
        'timeout' => 10,
        'ignore_errors' => true, // read the relay's JSON error instead of a bare warning
    ]]);
    $text = file_get_contents($relayUrl . $path, false, $context);
    $status = (int) explode(' ', $http_response_header[0])[1];
    if ($status !== 201) {
        throw new RuntimeException("$path: $status $text");
    }
    $replayed = in_array('idempotent-replayed: true', array_map('strtolower', $http_response_header), true);
    return [json_decode($text, true), $replayed];
}

function base64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

/** A subscriber token (HS256 JWT) that lets a browser read the channels until it expires. */
function subscriberToken(array $channels, int $ttlSeconds = 3600): string
{
    global $jwtSecret;
    $claims = ['scope' => 'subscribe', 'channels' => $channels, 'exp' => time() + $ttlSeconds];
    $unsigned = base64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT'])) . '.' . base64url(json_encode($claims));
    return $unsigned . '.' . base64url(hash_hmac('sha256', $unsigned, $jwtSecret, true));
}

// One event. `data` may be a string or any JSON value.
[$one] = post('/v1/channels/' . rawurlencode($channel) . '/events', ['event' => 'greeting', 'data' => ['from' => 'php']]);

// A batch with an Idempotency-Key: if the answer is lost, send the same request again
// with the same key; the relay answers the same ids and delivers the events once.
$key = bin2hex(random_bytes(16));
$batch = ['events' => [['channel' => $channel, 'data' => 'batch-1'], ['channel' => $channel, 'data' => 'batch-2']]];
[$first] = post('/v1/events', $batch, ['Idempotency-Key' => $key]);
[$retry, $replayed] = post('/v1/events', $batch, ['Idempotency-Key' => $key]);

echo json_encode([
    'id' => $one['id'], 'batch' => $first['ids'], 'retry' => $retry['ids'], 'replayed' => $replayed,
    'token' => subscriberToken([$channel]),
]), "\n";
