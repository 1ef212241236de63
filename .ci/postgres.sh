#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable and prints the DSN to use on
# stdout (everything else goes to stderr). Run it, or source it: sourced,
# it also exports HERD_TEST_POSTGRES.
#
#   .ci/postgres.sh          the DSN: the server on 127.0.0.1:5432 if one
#                            answers, else a throwaway cluster it starts
#   .ci/postgres.sh stop     stops the throwaway cluster and removes it
#
# Environment:
#   HERD_PG_FORCE_LOCAL=1    use the throwaway cluster even when 5432 answers
#   HERD_PG_PORT             the throwaway cluster's port (default 55432)
#   HERD_PG_DIR              where it lives (default /tmp/herd-pg)

herd_pg_log() { echo "postgres.sh: $*" >&2; }

# herd_pg_bindir finds the directory holding initdb and pg_ctl.
herd_pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then
			echo "$d"
		fi
	done | sort -V | tail -n 1
}

# herd_pg_as_owner runs a command as the cluster's owner: postgres when we
# are root (the server refuses to run as root), ourselves otherwise.
herd_pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

herd_pg_main() {
	local port="${HERD_PG_PORT:-55432}"
	local dir="${HERD_PG_DIR:-/tmp/herd-pg}"
	local bin

	if [ "${1:-}" = stop ]; then
		bin="$(herd_pg_bindir)"
		if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
			herd_pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || return 1
		fi
		rm -rf "$dir"
		herd_pg_log "throwaway cluster in $dir stopped and removed"
		return 0
	fi

	if [ "${HERD_PG_FORCE_LOCAL:-}" != 1 ] && command -v pg_isready >/dev/null 2>&1 &&
		pg_isready -q -h 127.0.0.1 -p 5432; then
		HERD_PG_DSN="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		return 0
	fi

	bin="$(herd_pg_bindir)"
	if [ -z "$bin" ]; then
		if [ "$(id -u)" != 0 ]; then
			herd_pg_log "PostgreSQL is not installed and installing it needs root"
			return 1
		fi
		herd_pg_log "installing PostgreSQL"
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >&2 || return 1
		bin="$(herd_pg_bindir)"
		if [ -z "$bin" ]; then
			herd_pg_log "PostgreSQL installed but initdb not found under /usr/lib/postgresql"
			return 1
		fi
	fi

	HERD_PG_DSN="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
	if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && [ -f "$dir/data/postmaster.pid" ]; then
		herd_pg_log "reusing the throwaway cluster in $dir on port $port"
		return 0
	fi

	if [ ! -f "$dir/data/PG_VERSION" ]; then
		herd_pg_log "creating a throwaway cluster in $dir"
		mkdir -p "$dir" || return 1
		if [ "$(id -u)" = 0 ]; then
			chown postgres: "$dir" || return 1
		fi
		herd_pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			return 1
		}
	fi
	herd_pg_log "starting PostgreSQL on 127.0.0.1:$port"
	herd_pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >&2 || {
		cat "$dir/server.log" >&2
		return 1
	}
	local i
	for i in $(seq 1 60); do
		"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
		sleep 0.5
	done
	if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
		herd_pg_log "PostgreSQL did not become ready; log: $dir/server.log"
		return 1
	fi
	if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
		"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres test >&2 || return 1
	fi
	return 0
}

if (return 0 2>/dev/null); then
	# Sourced: leave the caller's shell options alone and never exit it.
	if herd_pg_main "$@"; then
		if [ -n "${HERD_PG_DSN:-}" ]; then
			export HERD_TEST_POSTGRES="$HERD_PG_DSN"
			echo "$HERD_PG_DSN"
		fi
	else
		herd_pg_log "no PostgreSQL available"
		false
	fi
else
	set -u
	herd_pg_main "$@" || exit 1
	if [ -n "${HERD_PG_DSN:-}" ]; then
		echo "$HERD_PG_DSN"
	fi
fi
