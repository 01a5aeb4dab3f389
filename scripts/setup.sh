# Sourced by scripts/test and scripts/demo: installs and starts what zonekeeper's lab and
# tests need on a fresh Debian machine. Safe to run again: it only acts on what is missing.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# BIND 9 (named, rndc, tsig-keygen, named-checkconf), nsupdate (bind9-dnsutils: the tests
# change zones behind zonekeeper's back with it; they no longer need dig, and the demo's hint
# to `dig` a secondary is for the operator), and ip(8) for loopback addresses.
ensure_bind() {
  local missing=()
  [ -x /usr/sbin/named ] || missing+=(bind9)
  command -v rndc >/dev/null || [ -x /usr/sbin/rndc ] || missing+=(bind9-utils)
  command -v nsupdate >/dev/null || missing+=(bind9-dnsutils)
  command -v ip >/dev/null || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt_install "${missing[@]}"
  fi
  export PATH="$PATH:/usr/sbin"
}

# PostgreSQL on 127.0.0.1:5432 with a database `test` (skipped when ZONEKEEPER_TEST_PG
# names another server).
ensure_postgres() {
  [ -z "${ZONEKEEPER_TEST_PG:-}" ] || return 0
  if ! command -v pg_isready >/dev/null; then
    echo "installing postgresql" >&2
    apt_install postgresql
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    echo "starting PostgreSQL $version" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not answering on 127.0.0.1:5432" >&2; return 1; }
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test"
  fi
}
