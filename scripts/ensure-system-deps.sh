#!/usr/bin/env bash
# Makes sure the Debian packages the tests (or the benchmark) drive are
# installed, before `npm test` / `npm run bench` start.
#
#   scripts/ensure-system-deps.sh test    what `npm test` needs
#   scripts/ensure-system-deps.sh bench   what `npm run bench` needs
#
# As root on Debian, non-interactively (no terminal on stdin, or CI=true, as
# in CI or a provisioning script), it installs what is missing with apt-get. Otherwise
# it installs nothing and stops with the exact command to run. It never lets
# a suite be skipped: a missing package is an error, not a warning.
set -euo pipefail

# ---------------------------------------------------------------------------
# The list: one line per need, "group | Debian packages | check".
# The check is a shell condition that holds when the need is met.
# Add new toolchains here (and nowhere else).
# ---------------------------------------------------------------------------
NEEDS=(
  "test  | redis-server                     | command -v redis-server"
  "test  | chromium                         | [ -x \"\${CHROMIUM_PATH:-/usr/bin/chromium}\" ]"
  "test  | python3-flask python3-redis      | /usr/bin/python3 -c 'import flask, redis'"
  "test  | python3-jwt                      | /usr/bin/python3 -c 'import jwt'"
  "test  | golang-go                        | command -v go"
  "test  | php-cli                          | command -v php"
  "test  | php-symfony-mercure              | [ -e /usr/share/php/Symfony/Component/Mercure/autoload.php ]"
  "bench | redis-server                     | command -v redis-server"
  "bench | nginx-light libnginx-mod-nchan   | [ -x /usr/sbin/nginx ] && [ -e /usr/lib/nginx/modules/ngx_nchan_module.so ]"
)

group="${1:-test}"
trim() { local s="$1"; s="${s#"${s%%[![:space:]]*}"}"; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

find_missing() {
  missing=()
  for line in "${NEEDS[@]}"; do
    IFS='|' read -r need_group packages check <<<"$line"
    [ "$(trim "$need_group")" = "$group" ] || continue
    if ! bash -c "$(trim "$check")" >/dev/null 2>&1; then
      for package in $packages; do
        [[ " ${missing[*]-} " == *" $package "* ]] || missing+=("$package")
      done
    fi
  done
}

find_missing
[ "${#missing[@]}" -eq 0 ] && exit 0

is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null; }

# Non-interactive: no terminal on stdin, or a CI run (.ci/run sets CI=true).
non_interactive() { [ ! -t 0 ] || { [ -n "${CI:-}" ] && [ "${CI:-}" != false ]; }; }

if [ "$(id -u)" = 0 ] && is_debian && non_interactive; then
  echo "== ensure-system-deps ($group): apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep apt from starting the system redis/nginx services: tests start their own.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  # Another apt run (a provisioning step) may hold the lock: wait for it.
  apt_options=(-o DPkg::Lock::Timeout=600)
  apt-get "${apt_options[@]}" update -qq
  apt-get "${apt_options[@]}" install -y -qq "${missing[@]}"
  find_missing
  [ "${#missing[@]}" -eq 0 ] && exit 0
  echo "ensure-system-deps: still missing after apt-get install: ${missing[*]}" >&2
  exit 1
fi

{
  command="npm test"
  [ "$group" = test ] || command="npm run $group"
  echo "Missing system packages for \`$command\`: ${missing[*]}"
  if is_debian; then
    prefix=""
    [ "$(id -u)" = 0 ] || prefix="sudo "
    echo "Install them with:"
    echo "  ${prefix}apt-get update && ${prefix}apt-get install -y ${missing[*]}"
    [ "$(id -u)" = 0 ] && echo "(or run this non-interactively as root, e.g. \`npm test </dev/null\`, and it installs them itself)"
  else
    echo "These are Debian package names; install the equivalents for your system."
  fi
} >&2
exit 1
