# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: rotation_phases
short_description: "Give each discovered database its environment, rotation phase and family"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "Sets C(label) (C(region/identifier)), C(environment) and C(phase) on each database of
    C(rdsca.rotation.rds_ca_facts) RV(databases), and C(family) (the C(rdsca.rotation.replica_families) rule)."
  - "C(environment) is the one given for the label or the identifier in C(database_environments), else the tag's value."
  - "C(phase) is V(staging) or V(production) (rotated: the environment, lower-cased, is in C(staging_environments) or
    C(production_environments)), V(other) (left alone) or V(unsupported) (an engine the collection does not rotate)."
positional: _input, settings
options:
  _input:
    description:
      - "The databases (C(rdsca.rotation.rds_ca_facts) RV(databases))."
    type: list
    elements: dict
    required: true
  settings:
    description:
      - "The resolved settings of the playbook (C(rdsca_cfg)): C(database_environments), C(staging_environments),
        C(production_environments)."
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Give each database its phase
  ansible.builtin.set_fact:
    rdsca_dbs: "{{ rdsca_facts_before.databases | rdsca.rotation.rotation_phases(rdsca_cfg) }}"
"""

RETURN = r"""
_value:
  description:
    - "The databases, in the same order, each with C(label), C(environment), C(phase) and C(family)."
  type: list
"""

from ansible.errors import AnsibleFilterError

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def rotation_phases(databases, settings):
    """The databases with label, environment, phase and family."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils import rotate_playbook
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.rotate_playbook import check_list as _check_list
    _check_list(databases, "the databases", "rotation_phases")
    if not isinstance(settings, dict):
        raise AnsibleFilterError("rdsca.rotation.rotation_phases needs the settings (a dict)")
    return rotate_playbook.rotation_phases(databases, settings)


class FilterModule(object):
    """The rdsca.rotation.rotation_phases filter."""

    def filters(self):
        return {"rotation_phases": rotation_phases}
