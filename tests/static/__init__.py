"""Tests of the static-file logic: planning, negotiation, paths, and sending over sockets."""
