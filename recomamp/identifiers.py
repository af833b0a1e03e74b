"""Human-readable ids (`rpt_ab12cd34`): a prefix and 8 random lowercase alphanumerics."""

import secrets
import string

ALPHABET = string.ascii_lowercase + string.digits
SUFFIX_LENGTH = 8


def new_human_id(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LENGTH))


def human_id_regex(prefix: str) -> str:
    return rf"^{prefix}_[a-z0-9]{{{SUFFIX_LENGTH}}}$"


def new_report_id() -> str:
    return new_human_id("rpt")


def new_execution_id() -> str:
    return new_human_id("exec")


def new_schedule_id() -> str:
    return new_human_id("sch")
