"""KB_REQUIRE_ALL=1 (CI) turns a skip into a failure, except the PostgreSQL pass that is a separate run."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER_TESTS = """
import pytest

pytest.importorskip("a_module_that_is_not_installed_at_all")
"""

INNER = """
import pytest

from tests.conftest import SEEDS


def test_needs_seeds():
    pytest.skip(f"the seed documents ({SEEDS}) are not beside this checkout")


@pytest.mark.skipif(True, reason="browser tests skipped: /usr/bin/chromium is missing")
def test_needs_chromium():
    pass


@pytest.mark.skipif(True, reason="set KB_TEST_POSTGRES_URL to run against PostgreSQL")
def test_needs_postgres():
    pass


def test_runs():
    pass
"""


def run_inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, require_all: str | None):
    import tests.conftest

    if require_all is None:
        monkeypatch.delenv("KB_REQUIRE_ALL", raising=False)
    else:
        monkeypatch.setenv("KB_REQUIRE_ALL", require_all)
    monkeypatch.setattr(tests.conftest, "REQUIRE_ALL", require_all == "1")
    pytester.makeconftest(
        "from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport\n"
    )
    pytester.makepyfile(test_inner=INNER, test_missing_module=INNER_TESTS)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs", "--continue-on-collection-errors")


def test_without_it_resources_that_are_missing_are_skipped_with_the_reason(pytester, monkeypatch):
    result = run_inner(pytester, monkeypatch, None)
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(["*SKIPPED*seed documents*", "*SKIPPED*chromium is missing*"])


def test_with_it_every_skip_but_the_postgresql_pass_fails(pytester, monkeypatch):
    result = run_inner(pytester, monkeypatch, "1")
    # A skip in the test's body fails it; one at set-up (a skipif, a fixture) or collection is an error.
    result.assert_outcomes(passed=1, skipped=1, failed=1, errors=2)
    result.stdout.fnmatch_lines(["*SKIPPED*KB_TEST_POSTGRES_URL*"])
    for reason in ("seed documents", "chromium is missing", "a_module_that_is_not_installed_at_all"):
        result.stdout.fnmatch_lines([f"skipped under KB_REQUIRE_ALL=1*{reason}*"])
