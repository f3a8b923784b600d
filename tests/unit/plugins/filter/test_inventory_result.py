"""The rdsca.rotation.inventory_result filter: full records from any detail, a clear filter error otherwise (issue 20)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.inventory_result import FilterModule
from ansible_collections.rdsca.rotation.plugins.module_utils.inventory_records import shape_databases, write_records
from ansible_collections.rdsca.rotation.tests.unit.plugins.module_utils.test_inventory_records import fleet

inventory_result = FilterModule().filters()["inventory_result"]


def test_the_filter_gives_full_records_of_a_summary_result(tmp_path):
    databases = fleet()
    path = str(tmp_path / "inventory.jsonl")
    write_records(path, shape_databases(databases, "compact"))
    registered = {"detail": "summary", "databases": [], "output_file": path, "summary": {"databases": len(databases)}}
    full = inventory_result(registered)
    assert full["databases"] == databases and full["output_file"] == path and registered["databases"] == []


def test_the_filter_refuses_another_runs_file_with_a_filter_error(tmp_path):
    databases = fleet()
    path = str(tmp_path / "inventory.jsonl")
    write_records(path, databases[:2])
    with pytest.raises(AnsibleFilterError, match="rdsca.rotation.inventory_result: .*holds 2 databases"):
        inventory_result({"detail": "summary", "output_file": path, "summary": {"databases": len(databases)}})
    with pytest.raises(AnsibleFilterError, match="rdsca.rotation.inventory_result: .*no output_file"):
        inventory_result({"detail": "summary", "databases": [], "summary": {"databases": 1}})
