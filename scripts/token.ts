/**
 * `npm run token -- <subscribe|publish> <channel or prefix*>... [--ttl seconds]`
 *
 * Mints an HS256 JWT for local use: a subscriber token (private channels)
 * or a scoped publisher token (publish to these channels only). Signed with
 * the secret the local relay uses: SUBSCRIBE_JWT_SECRET / PUBLISH_JWT_SECRET
 * from the environment, else from .dev.vars, else `npm run dev`'s default
 * (scripts/dev-vars.ts). Prints the token alone on stdout (for `$(…)`), and
 * what it grants on stderr; never prints the secret.
 */
import { sign } from "hono/jwt";
import { localVars } from "./dev-vars.ts";

const USAGE = `usage: npm run token -- <subscribe|publish> <channel or prefix*>... [--ttl seconds]
  npm run token -- subscribe private-chat          # read a private channel
  npm run token -- publish 'orders-*' --ttl 600    # publish to orders-… for 10 minutes`;

const SECRET_VARIABLE = { subscribe: "SUBSCRIBE_JWT_SECRET", publish: "PUBLISH_JWT_SECRET" } as const;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const scope = args.shift();
if (scope !== "subscribe" && scope !== "publish") fail(`first argument must be "subscribe" or "publish"`);

let ttlSeconds = 3_600;
const channels: string[] = [];
for (let index = 0; index < args.length; index++) {
  const arg = args[index]!;
  if (arg === "--ttl" || arg.startsWith("--ttl=")) {
    const value = arg === "--ttl" ? args[++index] : arg.slice("--ttl=".length);
    ttlSeconds = Number(value);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) fail(`--ttl must be a positive whole number of seconds`);
  } else if (arg.startsWith("-")) {
    fail(`unknown option ${arg}`);
  } else {
    channels.push(arg);
  }
}
if (channels.length === 0) fail("name at least one channel (or a prefix ending in *)");

const variable = SECRET_VARIABLE[scope];
const secret = process.env[variable] || localVars()[variable];
if (!secret) fail(`${variable} is not set (environment or .dev.vars)`);

const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
const token = await sign({ scope, channels, exp }, secret, "HS256");
console.error(`${scope} token for ${channels.join(", ")}, expires ${new Date(exp * 1000).toISOString()}`);
console.log(token);
