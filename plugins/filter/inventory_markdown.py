# -*- coding: utf-8 -*-

# Copyright: Contributors to the rdsca.rotation collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: inventory_markdown
short_description: "The inventory playbook's Markdown report, from an rds_ca_facts result"
version_added: 0.1.0
author:
  - Contributors to the rdsca.rotation collection
description:
  - "The same layout as the run reports: the summary first (counts by account, region, engine, environment, CA,
    restart behaviour and reason; what would restart when rotated; what needs rotation and why; the regions that
    could not be read), then one table of databases per region, naturally sorted (V(db-2) before V(db-10)), then
    the regions. Every value from the estate is escaped."
positional: _input
options:
  _input:
    description:
      - "What C(rdsca.rotation.rds_ca_facts) returned (registered), with C(databases) and C(summary)."
    type: dict
    required: true
"""

EXAMPLES = r"""
---
- name: Write the inventory for people
  ansible.builtin.copy:
    content: "{{ inventory | rdsca.rotation.inventory_markdown }}"
    dest: /var/tmp/inventory.md
    mode: "0644"
"""

RETURN = r"""
_value:
  description:
    - "The Markdown text."
  type: str
"""

# Helpers imported when used: ansible-core imports every filter file in every worker (docs/architecture.md).


def inventory_markdown(facts):
    """The inventory report in Markdown."""
    from ansible_collections.rdsca.rotation.plugins.plugin_utils.report_inventory import render_inventory_markdown
    return render_inventory_markdown(facts)


class FilterModule(object):
    """The rdsca.rotation.inventory_markdown filter."""

    def filters(self):
        return {"inventory_markdown": inventory_markdown}
