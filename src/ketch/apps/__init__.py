"""Small ready-made applications: ``ketch ketch.apps.echo:app``."""
