#!/usr/bin/env bash
# Install what a fresh machine lacks, and say so. Usage: ensure-tools.sh moto|cfn-lint|awscli|redis|rie...
#
# The Python tools (requirements-dev.txt, pinned) go into the project's own virtual environment,
# .venv, never into the system Python (PEP 668 refuses that on current Debian, Ubuntu and
# Homebrew). Where the pinned versions are already importable (as on the CI machines, which reach
# no package index), they are used as they are. The Makefile puts .venv/bin first on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/.venv"

RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"

py() { # the Python that runs the tools: the venv's when there is one
	if [[ -x "$venv/bin/python3" ]]; then "$venv/bin/python3" "$@"; else python3 "$@"; fi
}

# pinned NAME: the version requirements-dev.txt pins for a distribution.
pinned() { sed -n "s/^$1\(\[[a-z]*\]\)\{0,1\}==\(.*\)$/\2/p" "$root/requirements-dev.txt"; }

# has DIST: the pinned version of DIST is importable.
has() {
	local want; want="$(pinned "$1")"
	[[ -n "$want" ]] && [[ "$(py -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null)" == "$want" ]]
}

python_tools() {
	if has moto && has cfn-lint && has aws-sam-translator && has awscli; then
		return
	fi
	command -v python3 >/dev/null 2>&1 || { echo "ensure-tools: Python 3 (with venv) is required: install python3 and python3-venv" >&2; exit 1; }
	if [[ ! -x "$venv/bin/python3" ]]; then
		echo "ensure-tools: creating the project's virtual environment in .venv" >&2
		python3 -m venv --system-site-packages "$venv" || {
			echo "ensure-tools: python3 -m venv failed: install your Python's venv module (Debian/Ubuntu: apt install python3-venv)" >&2; exit 1; }
	fi
	if ! (has moto && has cfn-lint && has aws-sam-translator && has awscli); then
		echo "ensure-tools: installing requirements-dev.txt into .venv" >&2
		"$venv/bin/python3" -m pip install --quiet -r "$root/requirements-dev.txt" >&2 || {
			echo "ensure-tools: pip could not install requirements-dev.txt into .venv (is a package index reachable?)" >&2; exit 1; }
	fi
}

for tool in "$@"; do
	case "$tool" in
	moto | cfn-lint | awscli)
		python_tools
		;;
	redis)
		# A real Valkey/Redis server for the redisstore tests (started by internal/testenv/redistest).
		if ! command -v valkey-server >/dev/null 2>&1 && ! command -v redis-server >/dev/null 2>&1; then
			if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
				echo "ensure-tools: installing redis-server with apt-get" >&2
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2 ||
					{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2; }
			fi
			command -v redis-server >/dev/null 2>&1 || {
				echo "ensure-tools: install a Redis or Valkey server (Debian/Ubuntu: apt install redis-server; macOS: brew install redis)" >&2; exit 1; }
		fi
		;;
	rie)
		if [[ ! -x "$root/bin/aws-lambda-rie" ]]; then
			echo "ensure-tools: installing aws-lambda-rie@$RIE_VERSION into bin/" >&2
			GOBIN="$root/bin" go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION"
		fi
		;;
	*)
		echo "ensure-tools: unknown tool $tool" >&2
		exit 2
		;;
	esac
done
