"""The audit log: `write.record_audit` appends an entry (and its event) in the request's
transaction; `read.list_audit_log` is how an organization's admins read it.
"""
