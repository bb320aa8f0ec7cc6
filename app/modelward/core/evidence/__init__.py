"""Evidence for people outside the tool: reports, signed bundles, backups, audit exports.

- :mod:`~modelward.core.evidence.reports`: the HTML/PDF report of a version;
- :mod:`~modelward.core.evidence.bundles`: signed, sealed bundles of a version
  and their keys;
- :mod:`~modelward.core.evidence.backup`: backup, restore and verification of
  a whole registry;
- :mod:`~modelward.core.evidence.audit_export`: the audit trail for an auditor.
"""
