"""Tests of ketch.web, the native request/response API."""
