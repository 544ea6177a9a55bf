"""The end-to-end tests: the shipped deployment, nginx and uWSGI, on loopback ports."""
