"""The database triggers that make the audit trail and the citizens' access log append-only.

PostgreSQL itself refuses UPDATE, DELETE and TRUNCATE on these tables, whoever asks through the
application (the ORM, the admin, a raw cursor). The one exception is the access log's
`message_id` being set to NULL (the ON DELETE SET NULL of a message), which changes nothing the
citizen reads about who accessed what.

TRUNCATE is let through only when the session sets `ebox.audit_truncate_allowed=on` **and** the
function was created with that switch, which only happens when the migration runs with
`EBOX_AUDIT_TRUNCATE_SWITCH = True` (the test settings: Django's test runner empties every table
between transactional tests). With the production settings the functions have no switch at all:
any role may set the custom setting, so a switch there would let the application's own role
erase the trail. Migrations 0003, 0004 and 0005 of `audit` and 0004 of `citizens` (re)create the functions.
"""

from __future__ import annotations

_SWITCH = """
    IF TG_OP = 'TRUNCATE' AND current_setting('ebox.audit_truncate_allowed', true) = 'on' THEN
        RETURN NULL;
    END IF;"""


def audit_function_sql(truncate_switch: bool) -> str:
    # Our constant SQL, with or without the switch; nothing from outside.
    return f"""
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_SWITCH if truncate_switch else ""}
    -- The entries' table or one of its monthly partitions (audit.partitions).
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME ~ '^audit_auditentry(_p[0-9]{{4}}_[0-9]{{2}}|_default)?$'
            AND current_setting('ebox.audit_pruning', true) = 'on'
            -- Any role can set the switch: the entry must also lie behind a prune record, which
            -- audit.retention signs (a forged one fails audit.services.verify).
            AND EXISTS (SELECT 1 FROM audit_auditprune p WHERE p.through_entry_id >= OLD.id) THEN
        RETURN OLD;  -- audit_prune() (audit/migrations/0002_audit_prune.py, audit.retention)
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""  # noqa: S608


def access_log_function_sql(truncate_switch: bool) -> str:
    return f"""
CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{_SWITCH if truncate_switch else ""}
    IF TG_OP = 'UPDATE' AND NEW.message_id IS NULL
        AND (NEW.id, NEW.citizen_id, NEW.action, NEW.at, NEW.accessor, NEW.oauth_client_id)
            IS NOT DISTINCT FROM (OLD.id, OLD.citizen_id, OLD.action, OLD.at, OLD.accessor, OLD.oauth_client_id) THEN
        RETURN NEW;  -- the message was deleted (ON DELETE SET NULL): the entry itself is unchanged
    END IF;
    RAISE EXCEPTION 'the access log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


ACCESS_LOG_TRIGGERS_SQL = """
CREATE TRIGGER citizens_accesslogentry_append_only BEFORE UPDATE OR DELETE ON citizens_accesslogentry
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER citizens_accesslogentry_no_truncate BEFORE TRUNCATE ON citizens_accesslogentry
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
"""

DROP_ACCESS_LOG_TRIGGERS_SQL = """
DROP TRIGGER citizens_accesslogentry_append_only ON citizens_accesslogentry;
DROP TRIGGER citizens_accesslogentry_no_truncate ON citizens_accesslogentry;
DROP FUNCTION access_log_append_only();
"""


def truncate_switch() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "EBOX_AUDIT_TRUNCATE_SWITCH", False))
