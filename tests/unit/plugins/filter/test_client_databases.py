"""Which databases a client verifies: its rdsca_client_databases patterns, also used by the dry run's gate."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.rdsca.rotation.plugins.filter.client_databases import FilterModule

client_databases = FilterModule().filters()["client_databases"]
DBS = [{"label": "us-east-1/orders-staging", "identifier": "orders-staging", "cluster_id": None},
       {"label": "eu-west-1/payments-staging", "identifier": "payments-staging", "cluster_id": None},
       {"label": "us-east-1/inventory-1", "identifier": "inventory-1", "cluster_id": "inventory-aurora"}]


def names(found):
    return [db["identifier"] for db in found]


def test_patterns_match_label_identifier_or_cluster():
    assert names(client_databases(DBS, ["*"])) == ["orders-staging", "payments-staging", "inventory-1"]
    assert names(client_databases(DBS, ["orders-*", "inventory-aurora"])) == ["orders-staging", "inventory-1"]
    assert names(client_databases(DBS, "eu-west-1/*, orders-stagin?")) == ["orders-staging", "payments-staging"]


def test_whole_names_only_and_other_characters_literal():
    assert client_databases(DBS, ["orders"]) == []
    assert client_databases(DBS, ["orders.staging"]) == []
    assert client_databases(DBS, []) == []


def test_bad_patterns_are_an_error():
    with pytest.raises(AnsibleFilterError, match="patterns must be a list or a string"):
        client_databases(DBS, {"a": 1})
