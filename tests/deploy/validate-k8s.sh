#!/bin/bash
# validate-k8s.sh — offline checks of the Kubernetes manifests in deploy/k8s.
#
#   tests/deploy/validate-k8s.sh
#
# 1. yamllint (tests/deploy/yamllint.yaml, warnings count) on every file;
# 2. each kustomization rendered by `kubectl kustomize` (Debian's
#    kubernetes-client, kubectl 1.20 with kustomize v2.0.3, or any newer
#    kubectl already installed): deploy/k8s, deploy/k8s/stateless and
#    deploy/k8s/postgres;
# 3. every rendered object checked by tests/deploy/k8s-validate.mjs: the
#    Kubernetes schemas, unknown fields, and the deployment's own rules;
#    then deploy/k8s and deploy/k8s/stateless together, as when both run in
#    one namespace (deploy/k8s/postgres replaces deploy/k8s, not beside it).
# Missing Debian packages (kubernetes-client, yamllint, nodejs, npm) are
# installed as root; npm packages come from tests/deploy/package-lock.json.
# Exits non-zero on any problem; ends with "N passed, N failed".
set -euo pipefail

cd "$(dirname "$0")/../.."
. tests/deploy/lib.sh

deps_debs kubectl=kubernetes-client yamllint=yamllint node=nodejs npm=npm
deps_npm

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # check NAME COMMAND...: runs it, counts it
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
	fi
}

echo "kubectl: $(kubectl version --client 2>/dev/null | head -1)"
echo "yamllint: $(yamllint --version)"

check "yamllint deploy/k8s" yamllint --strict -c tests/deploy/yamllint.yaml deploy/k8s

render() { # render DIR OUT: kubectl kustomize, deprecation notices of newer kustomize left out
	if kubectl kustomize "$1" >"$2" 2>"$work/err"; then
		grep -v "^# Warning: '.*' is deprecated" "$work/err" >&2 || true
	else
		cat "$work/err" >&2
		return 1
	fi
}

renders=()
for dir in deploy/k8s deploy/k8s/stateless deploy/k8s/postgres; do
	out="$work/$(echo "$dir" | tr / _).yaml"
	if check "kubectl kustomize $dir" render "$dir" "$out"; then
		check "schemas and rules of $dir" node tests/deploy/k8s-validate.mjs "$out" "$dir"
		renders+=("$out")
	fi
done
if [ ${#renders[@]} -eq 3 ]; then
	{
		cat "${renders[0]}"
		echo ---
		cat "${renders[1]}"
	} >"$work/both.yaml"
	check "both in one namespace" node tests/deploy/k8s-validate.mjs "$work/both.yaml" "deploy/k8s + deploy/k8s/stateless"
fi

echo "validate-k8s: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
