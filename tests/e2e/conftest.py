"""Fixtures of the end-to-end tests: the shipped deployment, started on loopback ports.

Without nginx or uWSGI these tests are skipped, unless FORWARDING_E2E=required (as in CI),
which makes a missing program an error.
"""

import os

import pytest

from tests.e2e.deployment import Deployment, Missing, find_programs


@pytest.fixture(scope="session")
def programs():
    try:
        return find_programs()
    except Missing as missing:
        if os.environ.get("FORWARDING_E2E") == "required":
            pytest.fail(f"FORWARDING_E2E=required, but {missing}")
        pytest.skip(str(missing))


@pytest.fixture
def start_deployment(programs, tmp_path):
    """`start_deployment(uwsgi_options=(), nginx_changes=None, **settings)`: a running deployment;
    FORWARDING_* settings for uWSGI, more of its options on its command line, and changes to
    nginx's configuration (Nginx in deployment.py)."""
    deployments = []

    def start(uwsgi_options=(), nginx_changes=None, **settings):
        directory = tmp_path / f"deployment-{len(deployments)}"
        deployment = Deployment(programs, directory, settings, uwsgi_options, nginx_changes)
        deployments.append(deployment)
        deployment.start()
        return deployment

    yield start
    for deployment in deployments:
        deployment.stop()


@pytest.fixture
def deployment(start_deployment):
    return start_deployment()
