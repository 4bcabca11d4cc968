#!/usr/bin/env bash
# Installs what is missing, builds the release shop and serves it with the demo catalog.
# Settings come from the environment or .env (see README); none are needed.
source "$(dirname "$0")/lib.sh"

install_tools
build_release
step "Starting Kassa"
exec target/release/kassa serve
