"""Memory: a worker that has grown past wsgi.ini's reload-on-rss is replaced after its answer."""

import re

import pytest

from tests.e2e.deployment import ROOT, wait_until

pytestmark = pytest.mark.e2e

WARMED = 35  # MB, a warmed worker (README, "Deploying")


def test_the_shipped_bound_leaves_a_warmed_worker_room():
    bound = int(re.search(r"^reload-on-rss = (\d+)$", (ROOT / "wsgi.ini").read_text(), re.MULTILINE).group(1))
    assert 2 * WARMED <= bound <= 256


def test_a_worker_past_the_bound_is_replaced_after_its_answer(start_deployment):
    # Below a warmed worker, every worker is past the bound after its first answer (how much
    # memory a request leaves behind varies); and one spawned a moment ago may go too.
    deployment = start_deployment(uwsgi_options=["--reload-on-rss", str(WARMED // 2), "--min-worker-lifetime", "0"])
    before = deployment.uwsgi.requests_by_worker()

    response = deployment.request("GET", "/api/info")

    assert response.status == 200 and response.json()["device_model"] == "forwarding"
    replaced = wait_until(lambda: set(before) - set(deployment.uwsgi.requests_by_worker()), 10, "no worker replaced")
    deployment.uwsgi.wait_ready()
    assert len(replaced) == 1 and len(deployment.uwsgi.requests_by_worker()) == len(before)
    assert "...The work of process" in deployment.uwsgi.log()
    assert deployment.request("GET", "/api/info").status == 200
