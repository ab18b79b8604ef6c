#!/usr/bin/env bash
# Install what a fresh machine lacks, and say so. Usage: ensure-tools.sh moto|cfn-lint|rie...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"

pip_install() {
	echo "ensure-tools: installing $* with pip" >&2
	python3 -m pip install --quiet "$@" >&2
}

for tool in "$@"; do
	case "$tool" in
	moto)
		# The version scripts/serve_moto.py was measured with (it speeds up two of
		# moto's internals and falls back to moto's own code where they differ).
		python3 -c 'import moto.moto_server.werkzeug_app' 2>/dev/null || pip_install 'moto[server]==5.2.1'
		;;
	cfn-lint)
		command -v cfn-lint >/dev/null 2>&1 || pip_install cfn-lint
		;;
	awscli)
		command -v aws >/dev/null 2>&1 || pip_install awscli
		;;
	rie)
		if [[ ! -x "$root/bin/aws-lambda-rie" ]]; then
			echo "ensure-tools: installing aws-lambda-rie@$RIE_VERSION into bin/" >&2
			GOBIN="$root/bin" go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$RIE_VERSION"
		fi
		;;
	*)
		echo "ensure-tools: unknown tool $tool" >&2; exit 2
		;;
	esac
done
